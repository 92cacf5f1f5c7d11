"""A browser's User-Agent header in words a user recognises ("Chrome 126 on Windows"), for the
list of signed-in browsers and the new-browser e-mail. Only the common browsers and systems are
named; anything else reads as its first words."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"OPR/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Chrome", r"(?:HeadlessChrome|Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)[.\d]* (?:Mobile/\S+ )?Safari/"),
)
_SYSTEMS = (
    ("iOS", r"iPhone|iPad|iPod"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
)


def describe_user_agent(user_agent: str) -> str:
    if not user_agent:
        return _("Unknown browser")
    browser = next(
        (f"{name} {match.group(1)}" for name, pattern in _BROWSERS if (match := re.search(pattern, user_agent))),
        None,
    )
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent)), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or user_agent.split(" ")[0][:60]
