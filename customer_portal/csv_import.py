"""Reading and validating a service-user CSV file (ユーザ一括登録), and writing the export.

Every row is validated with the same form as the single-user popup, against the other rows of
the file and the customer's existing users, before anything is imported.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from msp_portal.errors import DomainError
from msp_portal.spreadsheets import neutralise_formula

from .forms import ServiceUserForm
from .models import ServiceUser

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
COLUMNS = ("user_name", "email", "display_name", "department")
# Header names accepted for each column (export headers in both languages, and the keys).
_ALIASES = {
    "user_name": ("user_name", "username", "user name", "ユーザ名", "ユーザー名"),
    "email": ("email", "e-mail", "e-mail address", "mail", "eメール", "メールアドレス", "メール"),
    "display_name": ("display_name", "display name", "name", "表示名", "氏名", "名前"),
    "department": ("department", "部署", "所属"),
}


def _header_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "").replace("_", "").replace("-", "")


_HEADER_TO_COLUMN = {_header_key(alias): column for column, aliases in _ALIASES.items() for alias in aliases}
# Control characters (C0, DEL, C1; tab, CR and LF too: inside a value they are junk, the CSV
# framing around values is read by the csv module). PostgreSQL cannot store a NUL at all.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _refuse_control_characters(cells: list[str], line: int) -> None:
    for cell in cells:
        found = _CONTROL_CHARACTER.search(cell)
        if found:
            raise DomainError(
                _(
                    "Line %(line)s contains a control character (%(code)s), which user data cannot hold. "
                    "Remove it and upload the file again."
                )
                % {"line": line, "code": f"U+{ord(found.group()):04X}"}
            )


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 with or without BOM, else Shift_JIS (cp932, what Japanese Excel
    writes). Anything else is refused with a message."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                return raw.decode("cp932")
            except UnicodeDecodeError:
                pass
    raise DomainError(_("The file could not be read as UTF-8 or Shift_JIS (CP932) text. Save it as CSV and try again."))


def parse(raw: bytes) -> tuple[list[dict], list[str]]:
    """The rows of the file as dicts (with their line number), and the ignored columns.
    Raises DomainError when the file as a whole is unusable."""
    if not raw.strip():
        raise DomainError(_("The file is empty."))
    text = decode(raw)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise DomainError(_("The file is empty."))
        _refuse_control_characters(header, reader.line_num)
        positions: dict[str, int] = {}
        ignored: list[str] = []
        for index, name in enumerate(header):
            column = _HEADER_TO_COLUMN.get(_header_key(name))
            if column is None:
                if name.strip():
                    ignored.append(name.strip())
            elif column in positions:
                raise DomainError(_("The column “%(name)s” appears twice in the header.") % {"name": name.strip()})
            else:
                positions[column] = index
        missing = [column for column in ("user_name", "email", "display_name") if column not in positions]
        if missing:
            raise DomainError(
                _("The header row must name the columns %(columns)s. Missing: %(missing)s.")
                % {"columns": ", ".join(COLUMNS), "missing": ", ".join(missing)}
            )
        rows: list[dict] = []
        for cells in reader:
            _refuse_control_characters(cells, reader.line_num)
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise DomainError(
                    _("The file has more than %(limit)s rows. Split it into smaller files.") % {"limit": MAX_ROWS}
                )
            row = {"line": reader.line_num}
            for column in COLUMNS:
                index = positions.get(column)
                row[column] = cells[index] if index is not None and index < len(cells) else ""
            rows.append(row)
    except csv.Error as exc:
        raise DomainError(_("The file is not valid CSV: %(error)s") % {"error": exc}) from None
    if not rows:
        raise DomainError(_("The file has a header but no user rows."))
    return rows, ignored


def validate(customer, rows: list[dict]) -> list[dict]:
    """Each row normalised, with its `errors` (a list of messages, empty when the row is good):
    the single-user form's rules, duplicates within the file, and names already registered."""
    seen: dict[str, int] = {}
    result: list[dict] = []
    for row in rows:
        form = ServiceUserForm(data={column: row[column] for column in COLUMNS})
        errors: list[str] = []
        if form.is_valid():
            clean = {column: form.cleaned_data.get(column, "") for column in COLUMNS}
        else:
            clean = {column: row[column] for column in COLUMNS}
            for field, messages in form.errors.items():
                label = form.fields[field].label
                errors += [f"{label}: {message}" for message in messages]
        name = clean["user_name"].strip().lower()
        if name and "user_name" not in form.errors:
            if name in seen:
                errors.append(
                    _("User name “%(name)s” also appears on line %(line)s of the file.")
                    % {"name": name, "line": seen[name]}
                )
            else:
                seen[name] = row["line"]
        result.append({"line": row["line"], **clean, "errors": errors})
    existing = _existing_user_names(customer, list(seen))
    for row in result:
        if not row["errors"] and row["user_name"] in existing:
            row["errors"].append(_("User name “%(name)s” is already registered.") % {"name": row["user_name"]})
    return result


def _existing_user_names(customer, names: list[str]) -> set[str]:
    found: set[str] = set()
    # Chunks keep each IN list under SQLite's parameter limit.
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        found.update(
            ServiceUser.objects.filter(customer=customer, user_name__in=chunk).values_list("user_name", flat=True)
        )
    return found


def neutralise(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula, so it shows as text."""
    return neutralise_formula(value) if value else value


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV lines, UTF-8 BOM first (Japanese Excel opens it correctly), formula cells neutralised."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise(str(cell)) for cell in row])
