"""An export as a browser downloads it: through the gateway (real loopback HTTP) to
resume_service, with the session cookie alone; the file's headers and a 304 come through."""

import io
from urllib.parse import unquote

import docx

from resume_service.exports.formats import DOCX_MEDIA_TYPE
from tests.integration.gateway.conftest import FRONTEND, Stack, sign_in
from tests.samples import every_field


async def test_a_docx_export_and_its_304_come_through_the_gateway(stack: Stack) -> None:
    document = every_field()
    async with stack.client() as client:
        await sign_in(stack, client)
        created = await client.post("/api/resume/create", headers={"Origin": FRONTEND},
                                    json=document.model_dump(mode="json"))
        assert created.status_code == 201, created.text
        url = f"/api/resume/{created.json()['id']}/export/docx"
        response = await client.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == DOCX_MEDIA_TYPE
        assert unquote(response.headers["content-disposition"].split("''", 1)[1]) == \
            "Zoë Ålund CV Backend — 2026.docx"
        read = docx.Document(io.BytesIO(response.content))
        assert read.paragraphs[0].style is not None
        assert (read.paragraphs[0].style.name, read.paragraphs[0].text) == (
            "Title", document.contact.name)
        again = await client.get(url, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == response.headers["etag"]
        unknown = await client.get(url.replace("docx", "odt"))
        assert unknown.status_code == 422
