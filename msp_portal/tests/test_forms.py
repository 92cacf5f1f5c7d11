"""PortalForm: one Bootstrap styling rule, and every form of the portal uses it."""

from __future__ import annotations

import importlib

from django import forms

from msp_portal.forms import PortalForm, PortalFormMixin, style_widgets

from .source import project_apps, project_modules


class Sample(PortalForm):
    text = forms.CharField()
    choice = forms.ChoiceField(choices=[("a", "A")])
    many = forms.MultipleChoiceField(choices=[("a", "A")], widget=forms.CheckboxSelectMultiple)
    radio = forms.ChoiceField(choices=[("a", "A")], widget=forms.RadioSelect)
    agreed = forms.BooleanField()
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date", "class": "w-auto"}))
    token = forms.CharField(widget=forms.HiddenInput)


def _classes(form) -> dict[str, str | None]:
    return {name: field.widget.attrs.get("class") for name, field in form.fields.items()}


def test_each_kind_of_widget_gets_its_bootstrap_class():
    assert _classes(Sample()) == {
        "text": "form-control",
        "choice": "form-select",
        "many": "form-check-input",
        "radio": "form-check-input",
        "agreed": "form-check-input",
        "day": "w-auto form-control",
        "token": None,
    }


def test_styling_twice_adds_nothing_and_filters_get_the_small_size():
    form = Sample()
    style_widgets(form.fields)
    assert _classes(form)["day"] == "w-auto form-control"
    small = Sample.base_fields["choice"].__deepcopy__({})
    style_widgets({"choice": small}, small=True)
    assert small.widget.attrs["class"] == "form-select form-select-sm"


def test_every_form_of_the_portal_is_a_portal_form():
    for module in project_modules():
        importlib.import_module(module.path.removesuffix(".py").replace("/", "."))
    apps = tuple(f"{app}." for app in project_apps())

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    portal_forms = [cls for cls in subclasses(forms.BaseForm) if cls.__module__.startswith(apps)]
    assert len(portal_forms) > 20
    assert [cls for cls in portal_forms if not issubclass(cls, PortalFormMixin)] == []


def _render(source: str, form) -> str:
    from django.template import Context, Template

    return Template("{% load portal %}" + source).render(Context({"form": form}))


def test_the_one_field_partial_draws_each_kind_of_field_its_way():
    form = Sample(data={"token": "t"})
    form.add_error(None, "Refused as a whole.")
    html = _render("{% form_fields form %}", form)
    assert html.count('data-testid="form-errors"') == 1 and "Refused as a whole." in html
    assert '<input type="hidden" name="token" value="t" id="id_token">' in html
    assert '<label class="form-label" for="id_text">Text <span class="text-danger" aria-hidden="true">*</span>' in html
    assert '<div class="form-check"><input type="checkbox" name="agreed"' in html
    assert 'class="form-check form-check-inline"><input type="radio" name="radio"' in html
    assert 'data-testid="field-error-text">' in html


def test_a_single_compact_field_has_small_labels_and_no_form_errors():
    form = Sample(data={})
    form.add_error(None, "Refused as a whole.")
    html = _render("{% form_field form.text compact=True %}", form)
    assert "Refused as a whole." not in html
    assert '<div class="mb-2">' in html and '<label class="form-label small mb-1" for="id_text">' in html
