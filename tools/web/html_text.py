"""HTML to sectioned plain text with the stdlib html.parser: arXiv papers (LaTeXML) and docs pages
become a title plus sections split at h1-h6, without navigation, scripts or styles; MathML is
replaced by its LaTeX alttext so formulas stay readable."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import ClassVar


@dataclass
class Section:
    level: int
    title: str
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        text = "".join(self.parts)
        text = re.sub(r"[ \t\r\f\v]+", " ", text)
        return re.sub(r"\n\s*\n\s*", "\n\n", text).strip()


class _SectionParser(HTMLParser):
    """Splits HTML into sections at its h1-h6 headings; page chrome dropped, math as its LaTeX."""

    SKIP: ClassVar[set[str]] = {
        "head",
        "script",
        "style",
        "nav",
        "header",
        "footer",
        "button",
        "svg",
        "noscript",
        "form",
    }
    BLOCKS: ClassVar[set[str]] = {
        "p",
        "div",
        "li",
        "br",
        "tr",
        "figcaption",
        "section",
        "blockquote",
        "pre",
        "table",
        "ul",
        "ol",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.sections: list[Section] = [Section(1, "(front matter)")]
        self._skip = 0
        self._math = 0
        self._heading: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "math":
            if self._math == 0:
                alt = dict(attrs).get("alttext")
                if alt:
                    self._emit(f" ${alt}$ ")
            self._math += 1
            return
        if self._math:
            return
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = (int(tag[1]), [])
        elif tag in self.BLOCKS:
            self._emit("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag in self.SKIP:
                self._skip -= 1
            return
        if tag == "math":
            self._math = max(0, self._math - 1)
            return
        if self._math:
            return
        if self._heading and re.fullmatch(r"h[1-6]", tag):
            level, words = self._heading
            self._heading = None
            title = re.sub(r"\s+", " ", "".join(words)).strip()
            if level == 1 and not self.title:
                self.title = title
            elif title:
                # LaTeXML puts "Abstract" in an h6; it sits beside the top-level sections
                self.sections.append(Section(2 if title.lower() == "abstract" else level, title))
        elif tag in self.BLOCKS:
            self._emit("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._math:
            self._emit(data)

    def _emit(self, text: str) -> None:
        if self._heading is not None:
            self._heading[1].append(text)
        else:
            self.sections[-1].parts.append(text)


def parse_html(html: str) -> tuple[str, list[Section]]:
    """(title, sections) of an HTML page; the first h1 is the title, text before any heading is front matter."""
    parser = _SectionParser()
    parser.feed(html)
    parser.close()
    sections = [s for s in parser.sections if s.text or s.level > 1]
    return parser.title, sections


def to_markdown(title: str, sections: list[Section]) -> str:
    """Sections back to one markdown-ish text (headings as #)."""
    parts = [f"# {title}"] if title else []
    for s in sections:
        heading = f"{'#' * min(s.level, 6)} {s.title}\n" if s.title != "(front matter)" else ""
        parts.append(heading + s.text)
    return "\n\n".join(p for p in parts if p.strip())
