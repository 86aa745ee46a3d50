"""Knowledge: KB articles (and the public FAQ, a view of them), the info board, standard solutions.

"Article" in the cases service means a case article (mail, reply, note); knowledge-base
articles are ``kb_article`` in tables, ``KbArticle*`` in code and ``/kb/articles`` in URLs.

What was chosen, where the issue was silent:

- A KB article is created as a **draft**, version 1, ``internal`` unless said otherwise. Its
  HTML is sanitised on the way in (nh3: formatting, links to http(s)/mailto/tel, https images)
  and its text kept beside it for search. Every update that changes something counts one
  version; ``If-Match: "<version>"`` on PATCH refuses a stale edit with 412 (the row is locked
  while it is checked). Publishing needs a title and some text (409 otherwise); publishing or
  archiving twice changes nothing. Status changes are not versions.
- **Visibility** is the access hook: ``internal`` articles are for staff, ``public`` ones for
  customers too. Lists and reads take the set of visibilities the caller may see
  (``domain.kb_visibilities_for``); today a caller whose forwarded role is ``customer`` gets
  ``{public}``, everyone else both. An article the caller may not see is "not found".
  Customers may change nothing here (403). The access issue's identity dependency replaces the
  role header check in ``api.py`` (``editor``) without touching the rest; promote and render
  already draw only on cases whose queue the caller's ``Viewer`` sees.
- The **FAQ** is the published public articles, ordered by category (none first) and title,
  whoever asks.
- **Info board**: an entry is valid from ``valid_from`` (inclusive, default now) to
  ``valid_to`` (exclusive; none: until further notice); instants are compared, so the time
  zone they are written in does not matter, and answers carry UTC. Without ``at`` the list
  holds every entry (the admin view); the portal asks with ``at`` = now. ``audience=customers``
  shows entries for everyone and for customers, ``agents`` shows all (agents answer the calls
  about what customers are told). Entries meant for named organisations show on the customers'
  board only with ``organisation=<id>`` of one of them; agents see them regardless.
- **Standard solutions** are plain-text templates. Placeholders are dotted names in braces:
  ``{customer.name}``, ``{customer.email}``, ``{case.number}``, ``{case.subject}``,
  ``{agent.name}``; filling is a lookup by name in one pass, never evaluation. What cannot be
  filled stays in the text as ``[[name]]`` and is listed in the answer. ``{agent.name}`` comes
  from the render request until the identity dependency knows users' names.
- **Promote solution**: a resolved or closed case's newest public reply becomes an internal
  draft with ``source_case_number``; internal because a reply to one customer may name them.
  The same reply promoted again answers 200 with the same draft.
- No events yet: nothing consumes knowledge. The first consumer adds them, through the outbox.
"""
