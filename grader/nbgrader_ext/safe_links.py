"""The HTML exporter of the feedback pages: nbconvert's, with markdown links that cannot run script.

nbconvert renders markdown with harmful link targets allowed (`javascript:`, `vbscript:`, `data:`), and
its SanitizeHTML cleans only the HTML written into markdown, not markdown's own links. So a student's
`[see the answer](javascript:...)`, in a markdown cell or a markdown output, would become a live link in
the feedback page that runs when whoever opens it (an instructor too) clicks it: measured,
tests/autograde/test_isolation.py. mistune's own URL policy, used here, keeps http(s), mailto and other plain
schemes, relative links and embedded raster images; anything else links to `#harmful-link`.
"""

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

# Notebooks attach SVG figures. Shown through <img>, an SVG runs no script; as a link's target, browsers
# refuse to open a data: URL from a click, and it would have an origin of its own, not the page's.
EMBEDDED_SVG = ("data:image/svg+xml;",)


class SafeLinksHTMLExporter(HTMLExporter):
    """HTMLExporter whose `markdown2html` filter keeps only safe link and image targets."""

    @pass_context
    def markdown2html(self, context, source):
        # nbconvert's own filter (HTMLExporter.markdown2html), with mistune's protocol policy switched on.
        cell = context.get("cell", {})
        renderer = IPythonRenderer(
            escape=False,
            allow_harmful_protocols=EMBEDDED_SVG,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)
