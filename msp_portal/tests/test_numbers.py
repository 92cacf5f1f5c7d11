from django.template import Context, Template

from msp_portal.numbers import number_html, number_text


def test_numbers_have_thousands_separators_and_negatives_a_minus_sign():
    assert [number_text(v) for v in (0, 999, 1234, -1234567, None)] == ["0", "999", "1,234", "-1,234,567", "—"]
    assert [number_text(v, signed=True) for v in (0, 1200, -5)] == ["0", "+1,200", "-5"]


def test_a_negative_number_is_red_and_keeps_its_sign():
    assert number_html(-1200) == '<span class="num-value points-negative">-1,200</span>'
    assert number_html(1200, testid="pool-balance") == '<span class="num-value" data-testid="pool-balance">1,200</span>'


def test_the_template_tag_writes_the_same():
    template = Template('{% load portal %}{% number value testid="x" %} {% number value signed=True %}')
    assert template.render(Context({"value": -3000})) == (
        '<span class="num-value points-negative" data-testid="x">-3,000</span> '
        '<span class="num-value points-negative">-3,000</span>'
    )
