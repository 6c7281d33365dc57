"""The help-seller's (and leader's) own phone page: campaigns to sell with link and poster, sales, earnings,
statements."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from groupbuy import posters
from groupbuy.access import member_required
from jielong.member_views import share_poster

from . import access, panels, selectors
from .models import HelpSeller, Statement
from .settlement import statement_xlsx


@member_required
@require_GET
def earnings_page(request: HttpRequest) -> HttpResponse:
    sellers = list(
        HelpSeller.objects.filter(user=request.user, is_active=True)
        .select_related("campaign")
        .order_by("-campaign__closes_at", "-pk")
    )
    rows = selectors.seller_rows(sellers)
    for row in rows:
        row.share_url = panels.share_url(request, row.seller)
    return render(
        request,
        "member/fission/earnings.html",
        {
            "rows": rows,
            "earnings": selectors.person_earnings(user=request.user),
            "statements": selectors.statements_of(user=request.user)[:24],
        },
    )


@member_required
@require_GET
def seller_poster(request: HttpRequest, pk: int) -> HttpResponse:
    """The help-seller's poster: the campaign's poster whose QR code opens their share link."""
    seller = HelpSeller.objects.filter(pk=pk, user=request.user).select_related("campaign").first()
    if seller is None:
        raise Http404
    poster = share_poster(seller.campaign, qr_url=panels.share_url(request, seller))
    response = FileResponse(posters.render_cached(poster).open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


def statement_response(statement: Statement) -> HttpResponse:
    response = HttpResponse(
        statement_xlsx(statement),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"statement-{statement.period_start:%Y%m%d}-{statement.period_end:%Y%m%d}-{statement.pk}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@member_required
@require_GET
def statement_download(request: HttpRequest, pk: int) -> HttpResponse:
    statement = Statement.objects.filter(pk=pk).select_related("payee").first()
    if statement is None or not access.may_see_statement(user=request.user, statement=statement):
        raise Http404
    return statement_response(statement)
