"""Every action the code writes has a name in the reader's language (audit.actions), read from
the source: `action=` arguments, the positional `action` of the helpers that pass it on
(customers' `_audit_diff`, points' `_audit_transfer`), and entries shaped like events
(points.selectors.ChargeEntry's default), data migrations included."""

from __future__ import annotations

import ast
import re

from django.utils import translation

from audit.actions import ACTION_LABELS, action_label
from msp_portal.tests.source import project_modules

ACTION = re.compile(r"^[a-z_]+\.[a-z_]+$")


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _constant_keywords(modules, function: str, keyword: str, position: int | None = None) -> set[str]:
    """The string constants passed as `keyword` (or at `position`) to calls of `function`."""
    values = set()
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call) and _call_name(node) == function:
                candidates = [kw.value for kw in node.keywords if kw.arg == keyword]
                if position is not None and len(node.args) > position:
                    candidates.append(node.args[position])
                values |= {c.value for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return values


def _f_string_actions(modules) -> dict[str, set[str]]:
    """What each f-string action expands to, from the values its placeholder takes."""
    datasets = _constant_keywords(modules, "Dataset", "name", position=0)
    reasons = _constant_keywords(modules, "user_set_password", "reason")
    return {
        "{}.export": {f"{name}.export" for name in datasets},
        "user.password_{}": {f"user.password_{reason}" for reason in reasons},
    }


def _literals(node: ast.expr, f_strings: dict[str, set[str]], where: str) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body, f_strings, where) | _literals(node.orelse, f_strings, where)
    if isinstance(node, ast.JoinedStr):
        template = "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)
        assert template in f_strings, f"{where}: the action f-string {template!r} has no expansion in this test"
        assert f_strings[template], f"{where}: no values found for {template!r}"
        return f_strings[template]
    if isinstance(node, ast.Name | ast.Attribute):
        return set()  # a value passed on (a parameter, an event's): where it is written is collected
    raise AssertionError(f"{where}: an action this test cannot read: {ast.unparse(node)}")


def written_actions() -> set[str]:
    modules = list(project_modules(migrations=True))
    f_strings = _f_string_actions(modules)
    # Helpers that take an `action` positionally and pass it on as `action=action`, by name →
    # its index.
    positional = {}
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef):
                names = [arg.arg for arg in node.args.posonlyargs + node.args.args]
                passes_on = any(
                    isinstance(call, ast.Call)
                    and any(
                        kw.arg == "action" and isinstance(kw.value, ast.Name) and kw.value.id == "action"
                        for kw in call.keywords
                    )
                    for call in ast.walk(node)
                )
                if "action" in names and passes_on:
                    positional[node.name] = names.index("action")
    found = set()
    for module in modules:
        for node in ast.walk(module.tree):
            where = f"{module.path}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call) and _call_name(node) != "add_argument":  # argparse's action=
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        found |= _literals(keyword.value, f_strings, where)
                index = positional.get(_call_name(node))
                if index is not None and len(node.args) > index:
                    found |= _literals(node.args[index], f_strings, where)
            elif isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Constant):
                # A default such as ChargeEntry's `action: str = "points.consumption"`.
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(target, ast.Name) and target.id == "action" for target in targets):
                    found |= _literals(node.value, f_strings, where)
    return found


def test_the_reader_finds_the_actions_of_every_app():
    actions = written_actions()
    assert {
        "customer.provisioning_succeeded",  # action="…"
        "customer.schedule_cancellation",  # a conditional
        "customer.clear_cancellation",
        "customer.update",  # customers' _audit_diff(actor, "…", …)
        "points.purchase",  # points' _audit_transfer(actor, "…", …)
        "points.consumption",  # billing_jobs, and ChargeEntry's default
        "points.pools_merged",  # a data migration
        "user.password_reset",  # f"user.password_{reason}"
        "customers.export",  # f"{dataset.name}.export"
        "service_user.import",
    } <= actions
    assert all(ACTION.match(action) for action in actions), sorted(a for a in actions if not ACTION.match(a))


def test_every_action_the_code_writes_has_a_label():
    assert sorted(written_actions() - set(ACTION_LABELS)) == []


def test_every_label_names_an_action_the_code_writes():
    # A label left after its action is gone is dead text in the catalogue.
    assert sorted(set(ACTION_LABELS) - written_actions()) == []


def test_labels_read_in_the_active_language_and_unknown_actions_as_their_code():
    with translation.override("ja"):
        assert action_label("customer.provisioning_succeeded") == "プロビジョニング完了"
        assert action_label("legacy.something") == "legacy.something"
    with translation.override("en"):
        assert action_label("customer.provisioning_succeeded") == "Provisioning completed"


def test_every_label_is_translated_into_japanese():
    with translation.override("en"):
        english = {action: str(label) for action, label in ACTION_LABELS.items()}
    with translation.override("ja"):
        untranslated = [action for action, label in ACTION_LABELS.items() if str(label) == english[action]]
    assert untranslated == []
