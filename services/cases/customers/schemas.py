"""HTTP models of customers 360: ``XCreate`` / ``XUpdate`` / ``XRead`` per thing, and the 360 view."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field

from services.cases.schemas import CaseRead

PostalAddress = Annotated[str | None, Field(max_length=500)]
Phone = Annotated[str | None, Field(max_length=40)]
Holder = Literal["customer", "organisation"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- organisations ----


class OrganisationCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    number: str | None = Field(default=None, max_length=40, description="Organisation number")
    domains: list[str] = Field(default_factory=list, description="Mail domains; subdomains match too")
    phone: Phone = None
    address: PostalAddress = None


class OrganisationUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    number: str | None = Field(default=None, max_length=40)
    domains: list[str] | None = None
    phone: Phone = None
    address: PostalAddress = None


class OrganisationRead(BaseModel):
    id: str
    name: str
    number: str | None
    domains: list[str]
    phone: str | None
    address: str | None
    created_at: datetime


class OrganisationList(BaseModel):
    items: list[OrganisationRead]
    next_cursor: str | None


# ---- customers ----


class CustomerCreate(Strict):
    email: EmailStr
    name: str | None = Field(default=None, max_length=200)
    aliases: list[EmailStr] = Field(default_factory=list, description="Further mail addresses")
    phone: Phone = None
    address: PostalAddress = None
    organisation_id: str | None = Field(default=None, description="Unset: by the address's mail domain")


class CustomerUpdate(Strict):
    name: str | None = Field(default=None, max_length=200)
    aliases: list[EmailStr] | None = Field(default=None, description="Replaces the further addresses")
    phone: Phone = None
    address: PostalAddress = None
    organisation_id: str | None = None


class AddressRead(BaseModel):
    email: str
    primary: bool
    undeliverable: bool


class CustomerRead(BaseModel):
    id: str
    email: str
    name: str | None
    addresses: list[AddressRead]
    phone: str | None
    address: str | None
    organisation_id: str | None
    created_at: datetime


class CustomerList(BaseModel):
    items: list[CustomerRead]
    next_cursor: str | None


# ---- agreements ----


class AgreementCreate(Strict):
    number: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    organisation_id: str | None = None
    customer_id: str | None = None
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = Field(default=None, description="Exclusive; unset: until further notice")
    sla: str = Field(min_length=1, max_length=60, description='SLA level key, e.g. "gold"')


class AgreementRead(BaseModel):
    id: str
    number: str
    name: str
    organisation_id: str | None
    customer_id: str | None
    valid_from: datetime
    valid_to: datetime | None
    sla: str
    valid_now: bool
    created_at: datetime


class AgreementList(BaseModel):
    items: list[AgreementRead]
    next_cursor: str | None


# ---- products and services ----


class ProductCreate(Strict):
    code: str = Field(min_length=1, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["product", "service"] = "product"
    description: str | None = Field(default=None, max_length=1000)


class ProductRead(BaseModel):
    id: str
    code: str
    name: str
    kind: str
    description: str | None
    created_at: datetime


class ProductList(BaseModel):
    items: list[ProductRead]
    next_cursor: str | None


class ProductGrant(Strict):
    product_id: str


class HeldProduct(ProductRead):
    held_by: Holder


# ---- assets ----


class AssetCreate(Strict):
    type: str = Field(min_length=1, max_length=60)
    identifier: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    customer_id: str | None = Field(default=None, description="Who uses it")
    organisation_id: str | None = Field(default=None, description="Who owns it")


class AssetUpdate(Strict):
    type: str | None = Field(default=None, min_length=1, max_length=60)
    identifier: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    location: str | None = Field(default=None, max_length=200)
    customer_id: str | None = None
    organisation_id: str | None = None


class AssetRead(BaseModel):
    id: str
    type: str
    identifier: str
    name: str
    location: str | None
    customer_id: str | None
    organisation_id: str | None
    created_at: datetime
    updated_at: datetime


class AssetDetail(AssetRead):
    cases: list[CaseRead] = Field(description="Linked cases the caller sees")


class AssetList(BaseModel):
    items: list[AssetRead]
    next_cursor: str | None


class AssetCaseLink(Strict):
    number: str = Field(pattern=r"^\d{1,12}$", description="Case number")


# ---- the 360 view ----


class HeldAgreement(AgreementRead):
    held_by: Holder


class CustomerView(CustomerRead):
    """A person with everything around them; cases only those the caller sees."""

    organisation: OrganisationRead | None
    agreements: list[HeldAgreement]
    products: list[HeldProduct]
    assets: list[AssetRead]
    open_cases: list[CaseRead]
    recent_closed_cases: list[CaseRead]
