"""Id tags: who may charge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from voltline.api.deps import Limit, Offset, ServicesDep, TextQuery, page_out
from voltline.api.openapi import answers, exists, unknown
from voltline.api.schemas import ID_TOKEN_LENGTH, PRINTABLE, IdTagIn, IdTagOut, IdTagPatch, IdTagStatus, Page

router = APIRouter(prefix="/id-tags", tags=["id tags"])

IdTagPath = Annotated[str, Path(min_length=1, max_length=ID_TOKEN_LENGTH, pattern=PRINTABLE)]
UNKNOWN = answers(unknown("id tag"))


@router.post("", status_code=201, summary="Create an id tag", responses=answers(exists("id tag")))
async def create_id_tag(body: IdTagIn, services: ServicesDep) -> IdTagOut:
    tag = await services.id_tags.create(
        body.id_tag,
        status=body.status,
        expiry_date=body.expiry_date,
        parent_id_tag=body.parent_id_tag,
        description=body.description,
        max_active_transactions=body.max_active_transactions,
        token_type=body.token_type,
    )
    return IdTagOut.model_validate(tag)


@router.get("", summary="List id tags")
async def list_id_tags(
    services: ServicesDep,
    status: IdTagStatus | None = None,
    q: Annotated[TextQuery, Query(description="part of the id tag or its description, any case")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[IdTagOut]:
    page = await services.views.id_tags.id_tags(status=status, search=q, limit=limit, offset=offset)
    return Page[IdTagOut].model_validate(page_out(page))


@router.get("/{id_tag}", summary="An id tag", responses=UNKNOWN)
async def get_id_tag(id_tag: IdTagPath, services: ServicesDep) -> IdTagOut:
    return IdTagOut.model_validate(await services.id_tags.get(id_tag))


@router.patch("/{id_tag}", summary="Change an id tag (fields sent as null are cleared)", responses=UNKNOWN)
async def update_id_tag(id_tag: IdTagPath, body: IdTagPatch, services: ServicesDep) -> IdTagOut:
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for required in ("status", "max_active_transactions", "token_type"):  # null: left as it is
        if changes.get(required, "") is None:
            del changes[required]
    return IdTagOut.model_validate(await services.id_tags.update(id_tag, **changes))


@router.delete("/{id_tag}", status_code=204, summary="Delete an id tag", responses=UNKNOWN)
async def delete_id_tag(id_tag: IdTagPath, services: ServicesDep) -> Response:
    await services.id_tags.delete(id_tag)
    return Response(status_code=204)
