"""Customers 360: customers and organisations with their contact details, agreements, products
and services, and assets; the 360 view of a customer.

What was chosen, where the issue was silent:

- **Tables.** Phone and postal address of customers, and number, phone and postal address of
  organisations, are in one-to-one ``customer_profile`` / ``organisation_profile`` tables, owned
  here, instead of new columns on ``customer`` / ``organisation`` (other work changes those
  models at the same time; folding them in later is one migration). Mail domains stay in
  ``organisation.domains`` (JSON); a domain may be listed by one organisation only (409).
- **Who writes.** Admins, internal calls and **team leads** change the register (customers,
  organisations, agreements, products, assets, asset-case links): a team lead runs the desk's
  day-to-day, and a new customer or a swapped PC should not wait for an admin. The role that
  counts is the lower of the token's and the user's current one, as everywhere. Agents read;
  strangers (unknown or inactive users) get 403 on every route but ``GET /customers/{id}``,
  where they get 404 as for a missing customer.
- **Who sees what.** Customers, organisations, agreements, products and assets are no secret to
  staff. Cases are: the 360 view and an asset's linked cases hold only cases whose queue the
  caller sees (filtered in SQL); a customer all of whose cases are hidden is still shown.
  Linking a case the caller does not see answers 404 "case not found", as a missing case.
- **Agreements** hold from ``valid_from`` (inclusive) to ``valid_to`` (exclusive; none: until
  further notice), instants compared; ``valid_now`` uses the service's clock. An agreement
  belongs to exactly one of an organisation or a customer; the 360 view shows the person's own
  and their organisation's, with ``held_by``. ``sla`` is a plain key until SLA policies exist.
- **Products and services** are one ``product`` table (``kind``), held by customers or
  organisations (``product_holder``, once each: 409).
- **Assets**: ``identifier`` is unique as written (no case folding); ``organisation_id`` is the
  owner, ``customer_id`` the person who has it (either, both or none). The 360 view lists the
  assets whose ``customer_id`` is the person.
- **The 360 view**: open cases (not resolved or closed), newest 50; recent closed cases
  (resolved or closed), the 10 last changed.
- Lists are ``{"items", "next_cursor"}``, keyset pages: customers by primary address,
  organisations by name, agreements by number, products by code, assets by identifier.
"""
