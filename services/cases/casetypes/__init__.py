"""Case types: custom fields, forms, statuses with their transitions, priority matrix, templates."""
