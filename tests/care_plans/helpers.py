"""What a browser would submit: the fields of a rendered form, as the page filled them in."""

from html.parser import HTMLParser


class _FormFields(HTMLParser):
    """Collects the successful controls of the form with ``id`` (or of the first form)."""

    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.depth = 0  # > 0 while inside the wanted <section>/<form>
        self.in_form = False
        self.done = False
        self.data: list[tuple[str, str]] = []
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: str | None = None
        self._textarea_text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.done:
            return
        if tag == "section" and self.form_id and attrs.get("id") == self.form_id:
            self.depth = 1
            return
        if tag == "form" and (self.depth or not self.form_id) and not self.in_form:
            self.in_form = True
            return
        if not self.in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and "disabled" not in attrs:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data.append((name, attrs.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                self.data.append((name, attrs.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, [])
        elif tag == "option" and self._select is not None:
            self._option = (attrs.get("value"), "selected" in attrs)
            self._option_text = ""
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, ""

    def handle_data(self, data):
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea_text += data

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None and self._select is not None:
            value, selected = self._option
            self._select[1].append((self._option_text if value is None else value, selected))
            self._option = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [v for v, selected in options if selected] or [v for v, _ in options[:1]]
            self.data.extend((name, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops one leading newline and submits line ends as CR LF.
            text = self._textarea_text.removeprefix("\n").replace("\r\n", "\n")
            self.data.append((self._textarea, text.replace("\n", "\r\n")))
            self._textarea = None
        elif tag == "form" and self.in_form:
            self.in_form, self.done = False, True


def form_fields(html: str, form_id: str | None = "care-plan-editor") -> dict[str, list[str]]:
    """``{name: [values]}`` that submitting the (first) form in ``<section id=form_id>`` sends
    unchanged; pass it to the test client after editing the values you mean to change."""
    parser = _FormFields(form_id)
    parser.feed(html)
    fields: dict[str, list[str]] = {}
    for name, value in parser.data:
        fields.setdefault(name, []).append(value)
    assert fields, f"no form in #{form_id}"
    return fields
