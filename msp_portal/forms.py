"""The base of every form: Bootstrap's classes on every widget, by one rule, so templates render
`{{ field }}` as it is (templates/partials/form_fields.html). Filter forms use the same rule in
the small size (msp_portal.filters.PortalFilterSet)."""

from __future__ import annotations

from django import forms

_CHECKS = (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)


def _widget_classes(widget: forms.Widget, *, small: bool) -> list[str]:
    if isinstance(widget, _CHECKS):
        return ["form-check-input"]
    if isinstance(widget, forms.Select):
        return ["form-select", "form-select-sm"] if small else ["form-select"]
    return ["form-control", "form-control-sm"] if small else ["form-control"]


def style_widgets(fields, *, small: bool = False) -> None:
    """Add Bootstrap's classes to the widgets of `fields` (a form's `fields`), after any class a
    widget has of its own; hidden inputs get none."""
    for field in fields.values():
        widget = field.widget
        if widget.is_hidden:
            continue
        classes = widget.attrs.get("class", "").split()
        classes += [css for css in _widget_classes(widget, small=small) if css not in classes]
        widget.attrs["class"] = " ".join(classes)


class PortalFormMixin:
    """PortalForm's styling for forms with another base (Django's auth forms)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_widgets(self.fields)


class PortalForm(PortalFormMixin, forms.Form):
    """The base of the portal's forms."""


class PortalModelForm(PortalFormMixin, forms.ModelForm):
    """The base of the portal's model forms."""
