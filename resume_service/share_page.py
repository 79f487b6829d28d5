"""The HTML of a share: a small page with Open Graph tags for link previews, and the
password form of a protected share. Jinja2 with autoescape on: every string of the resume is
the user's and is escaped."""

from typing import Any

from jinja2 import Environment

_ENVIRONMENT = Environment(autoescape=True)

_PAGE = _ENVIRONMENT.from_string("""<!doctype html>
<html lang="{{ locale }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<meta name="description" content="{{ description }}">
<meta property="og:type" content="profile">
<meta property="og:title" content="{{ title }}">
<meta property="og:description" content="{{ description }}">
<meta property="og:url" content="{{ url }}">
<meta property="og:image" content="{{ image_url }}">
<meta name="robots" content="noindex">
</head><body>
<h1>{{ contact.name }}</h1>{% if contact.label %}<p>{{ contact.label }}</p>{% endif %}
{% if contact.summary %}<p>{{ contact.summary }}</p>{% endif %}
{% for section in sections %}<section><h2>{{ section.title }}</h2>
{% for item in section["items"] %}<article><h3>{{ item.title }}</h3>
{% if item.subtitle %}<p>{{ item.subtitle }}</p>{% endif %}
{% if item.bullets %}<ul>{% for bullet in item.bullets %}<li>{{ bullet }}</li>{% endfor %}</ul>
{% endif %}</article>{% endfor %}</section>
{% endfor %}</body></html>
""")

_FORM = _ENVIRONMENT.from_string("""<!doctype html>
<html><head><meta charset="utf-8"><title>Password required</title>
<meta name="robots" content="noindex"></head><body>
<form method="post" action="{{ action }}">
{% if wrong %}<p>That password is not right.</p>{% endif %}
<label>Password <input type="password" name="password" required autofocus></label>
<button type="submit">Open</button></form></body></html>
""")


def share_page(resume: dict[str, Any], url: str, image_url: str) -> str:
    contact = resume.get("contact") or {}
    name = contact.get("name", "")
    title = " - ".join(part for part in (name, resume.get("title", "")) if part) or "Resume"
    description = (contact.get("label") or contact.get("summary", ""))[:300]
    return _PAGE.render(title=title, description=description, url=url, image_url=image_url,
                        contact=contact,
                        sections=resume.get("sections", []), locale=resume.get("locale", "en"))


def password_form(action: str, wrong: bool) -> str:
    return _FORM.render(action=action, wrong=wrong)
