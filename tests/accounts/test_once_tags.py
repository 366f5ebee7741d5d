"""``{% once_per_language %}``: the same text as without it, per language, and nothing but fixed
text inside."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation

STRETCH = (
    '<a href="{% url \'reports-unread\' %}">{% translate "New reports" %}</a>'
    '<a href="{% url \'reports-detail\' 7 %}">{% translate "Now" context "care plan" %}</a>'
    "<script src=\"{% static 'js/app.js' %}\"></script>"
)


def render(text: str, **context) -> str:
    return Template("{% load i18n static once_tags %}" + text).render(Context(context))


def test_it_renders_what_the_tags_render_in_each_language():
    once = Template(
        "{% load i18n static once_tags %}{% once_per_language %}"
        + STRETCH
        + "{% endonce_per_language %}"
    )
    for language, word in (("en", "New reports"), ("zh-hans", "新报告")):
        with translation.override(language):
            plain = render(STRETCH)
            assert word in plain and "/reports/7/" in plain
            assert once.render(Context()) == plain
            assert once.render(Context()) == plain  # the kept text
    with translation.override("en"):
        assert once.render(Context()) == render(STRETCH)


@pytest.mark.parametrize(
    "inside",
    [
        "{{ patient.name }}",
        '{% translate "Goal" as goal %}',
        "{% translate word %}",
        '{% translate "Goal"|upper %}',
        "{% url 'reports-detail' report.pk %}",
        "{% url 'admin:index' %}",
        "{% static path %}",
        "{% csrf_token %}",
        "{% if x %}a{% endif %}",
        "{% blocktranslate %}Goal{% endblocktranslate %}",
    ],
)
def test_it_refuses_anything_but_fixed_text(inside):
    with pytest.raises(TemplateSyntaxError):
        render("{% once_per_language %}" + inside + "{% endonce_per_language %}")
