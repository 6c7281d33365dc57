"""核销 end to end at 375 px, in real Chromium: the member's order page shows the pickup QR; the leader's phone
scans it with its camera — Chromium's fake camera plays a video made from a picture of that very QR — and
verifies; the member's open page turns to 已取货 without a reload. A second member's code is read from a
picture instead (the fallback where the camera cannot be used). Screenshots of every page go to
/tmp/shots/pickup/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from community.models import Membership
from fulfillment.documents.handouts import handout_rows
from fulfillment.documents.qr import qr_svg
from fulfillment.models import Handout, Parcel
from fulfillment.split import split_day
from groupbuy import clock
from jielong.models import Order
from tests import factories
from tests.browser import CHROMIUM, CHROMIUM_ARGS, launch, phone_page, session_cookies, staff_page
from tests.fulfillment.day import make_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/pickup")
State = Parcel.State

# Pickup codes whose QR, as the member's order page draws it (216 px at twice the density), @zxing/browser — the
# counter's first reader — could not read from a clean screenshot: 37 of 1,500 random codes. A CI run failed on one.
# No member's code may be unreadable from a picture of their screen.
CODES_ZXING_JS_MISSED = [
    "017501", "031646", "061388", "096953", "194936", "231776", "305792", "404648", "479545", "537535",
    "625540", "661495", "773525", "848888", "889991", "925611", "934990", "945456", "990526",
]  # fmt: skip


def write_y4m(picture: Path, target: Path, *, width: int = 640, height: int = 480, frames: int = 30) -> None:
    """A still video (YUV4MPEG2, 4:2:0) of ``picture`` centred on white: what Chromium's fake camera plays."""
    canvas = Image.new("RGB", (width, height), "white")
    shot = Image.open(picture).convert("RGB")
    shot.thumbnail((height - 80, height - 80))
    canvas.paste(shot, ((width - shot.width) // 2, (height - shot.height) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)


def arrived(handout: Handout) -> None:
    now = clock.now()
    Parcel.objects.filter(handout=handout).update(state=State.AT_PICKUP, at_pickup_at=now, state_changed_at=now)
    Order.objects.filter(parcel__handout=handout).update(status=Order.Status.READY)


def shoot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, f"{name} overflows 375 px"


def test_the_leader_scans_the_members_qr_and_the_members_page_turns_to_picked_up(live_server, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    day = make_day(suppliers=2, points=2, members=6, campaigns=2)
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    merged = next(h for h in Handout.objects.order_by("pk") if h.parcels.count() >= 2)
    point = merged.pickup_point
    second = Handout.objects.filter(pickup_point=point).exclude(pk=merged.pk).order_by("pk").first()
    for handout in (merged, second):
        arrived(handout)
    point.opening_hours = "每天 9:00-20:00"
    point.address = "阳光花园3栋门卫室"
    point.leader = factories.member(nickname="王团长")
    point.save(update_fields=["opening_hours", "address", "leader"])
    factories.membership(user=point.leader, community=point.community, role=Membership.Role.LEADER)
    member = merged.user
    order = Order.objects.filter(parcel__handout=merged).order_by("pk").first()
    member_cookies = session_cookies(live_server.url, member, language="zh-hans")
    leader_cookies = session_cookies(live_server.url, point.leader, language="zh-hans")
    second_cookies = session_cookies(live_server.url, second.user, language="zh-hans")
    operator_cookies = session_cookies(live_server.url, factories.operator(), language="zh-hans")
    qr_png = tmp_path / "member-qr.png"
    camera = tmp_path / "camera.y4m"

    with sync_playwright() as p:
        browser = launch(p)
        try:
            # The member opens the order from 我的订单 and keeps it open at the counter.
            member_page = phone_page(browser, member_cookies)
            member_page.goto(f"{live_server.url}/m/")
            expect(member_page.locator("#orders .order-pickup").first).to_contain_text(merged.code)
            member_page.locator("#orders").scroll_into_view_if_needed()
            member_page.locator("#orders").screenshot(path=str(SHOTS / "member-my-orders.png"))
            member_page.locator(f"#orders a[href='/m/jielong/orders/{order.pk}/']").first.click()
            panel = member_page.locator("#pickup-panel")
            expect(panel.locator("#pickup-code")).to_have_text(merged.code)
            expect(panel.locator("#pickup-state")).to_have_text("待取货")
            expect(panel.locator("#pickup-merged")).to_contain_text("与另外 1 个订单合并取货")
            expect(panel).to_contain_text("每天 9:00-20:00")
            member_page.evaluate("window.__sameDocument = true")
            shoot(member_page, "member-order-at-pickup")
            panel.locator("#pickup-qr").screenshot(path=str(qr_png))

            # The second member's code, photographed for the picture fallback.
            second_page = phone_page(browser, second_cookies)
            second_order = Order.objects.filter(parcel__handout=second).order_by("pk").first()
            second_page.goto(f"{live_server.url}/m/jielong/orders/{second_order.pk}/")
            second_qr = tmp_path / "second-qr.png"
            second_page.locator("#pickup-qr").screenshot(path=str(second_qr))
            second_page.context.close()
        finally:
            browser.close()

        write_y4m(qr_png, camera)
        camera_browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={camera}",
            ],
        )
        member_browser = launch(p)
        try:
            member_page = phone_page(member_browser, member_cookies)
            member_page.goto(f"{live_server.url}/m/jielong/orders/{order.pk}/")
            expect(member_page.locator("#pickup-code")).to_have_text(merged.code)
            member_page.evaluate("window.__sameDocument = true")

            leader = phone_page(camera_browser, leader_cookies)
            leader.context.grant_permissions(["camera"], origin=live_server.url)
            # From the member home's entry to the point's counter: no typed URL.
            leader.goto(f"{live_server.url}/m/")
            expect(leader.locator("#pickup-entry")).to_be_visible()
            shoot(leader, "leader-home")
            leader.locator("#pickup-entry").click()
            expect(leader.locator(f"#point-{point.pk}")).to_be_visible()
            shoot(leader, "leader-points")
            leader.locator(f"#point-{point.pk}").click()
            expect(leader.locator("#scan-start")).to_have_text("扫码核销")
            expect(leader.locator("#scan-stop")).to_be_hidden()
            # The evening before, the counter opens on tomorrow's delivery.
            expect(leader.locator(".pk-daynav strong")).to_contain_text(
                f"{day.delivery_date.month}月{day.delivery_date.day}日"
            )
            expect(leader.locator("#outstanding")).to_contain_text(member.display_name)
            shoot(leader, "leader-point")

            leader.locator("#scan-start").click()
            card = leader.locator("#handout-card")
            expect(card).to_be_visible(timeout=15_000)
            expect(card.locator("#handout-member")).to_have_text(member.display_name)
            expect(card).to_contain_text(f"手机尾号 {member.phone[-4:]}")
            expect(card).to_contain_text("2 单合并")
            assert member.phone not in card.inner_text()
            expect(leader.locator("#scan-camera")).to_be_hidden()
            shoot(leader, "leader-card")

            card.locator("#verify-confirm").click()
            expect(leader.locator("#handout-verified")).to_contain_text("已核销")
            expect(leader.locator("#picked-up")).to_contain_text(member.display_name)
            shoot(leader, "leader-verified")
            merged.refresh_from_db()
            assert merged.verified_by_id == point.leader_id

            # The member's open page follows by itself.
            expect(member_page.locator("#pickup-done")).to_contain_text("已取货", timeout=15_000)
            expect(member_page.locator("#order-status")).to_have_text("已取货")
            expect(member_page.locator("#pickup-qr")).to_have_count(0)
            assert member_page.evaluate("window.__sameDocument") is True
            shoot(member_page, "member-order-picked-up")

            # The undo link asks for a reason first.
            leader.locator(".pk-undo summary").click()
            shoot(leader, "leader-undo-open")

            # A second member: the code read from a picture (where the camera cannot be used).
            leader.locator("#scan-photo").set_input_files(str(second_qr))
            try:
                expect(leader.locator("#handout-member")).to_have_text(second.user.display_name, timeout=30_000)
            except AssertionError as exc:  # the first card stays when the picture is not read: say which
                error = leader.locator("#scan-error")
                raise AssertionError(f"scan error shown: {error.is_visible() and error.inner_text()!r}") from exc
            leader.locator("#verify-confirm").click()
            expect(leader.locator("#handout-verified")).to_be_visible()
            second.refresh_from_db()
            assert second.verified_at is not None

            # A typed wrong code: a clear message, nothing verified.
            leader.locator("#code-input").fill("000000" if merged.code != "000000" else "000001")
            leader.locator("#code-submit").click()
            expect(leader.locator("#card-error")).to_be_visible()
            shoot(leader, "leader-unknown-code")

            # The operator's delivery-day page counts the two hand-outs as picked up.
            ops, admin_requests = staff_page(member_browser, operator_cookies)
            ops.goto(f"{live_server.url}/ops/fulfilment/{day.brand_id}/{day.delivery_date.isoformat()}/")
            section = ops.locator("#pickup")
            expect(section.locator("#pickup-picked-up")).to_have_text(
                str(Parcel.objects.filter(handout__in=[merged, second]).count())
            )
            section.screenshot(path=str(SHOTS / "ops-day-pickup.png"))
            assert admin_requests == []
        finally:
            camera_browser.close()
            member_browser.close()


def codes_unread_at_the_counter(browser, cookies, counter_url: str, pictures: dict[str, Path]) -> list[tuple]:
    """Each picture given to the counter's "from a picture" button: the codes it did not read, with what it said."""
    leader = phone_page(browser, cookies)
    leader.goto(counter_url)
    expect(leader.locator("#pickup-scan")).to_have_attribute("data-reader", "ready", timeout=30_000)
    unread = []
    for code, picture in pictures.items():
        leader.locator("#scan-photo").set_input_files(str(picture))
        try:
            # The reader puts what it read in the code field, then looks it up.
            expect(leader.locator("#code-input")).to_have_value(code, timeout=10_000)
            expect(leader.locator("#scan-error")).to_be_hidden()
        except AssertionError:
            unread.append((code, picture.name, leader.locator("#scan-error").inner_text()))
    leader.context.close()
    return unread


def test_the_counter_reads_from_a_picture_the_codes_its_first_reader_missed(live_server, tmp_path):
    day = make_day(suppliers=1, points=1, members=2, campaigns=1)
    point = day.points[0]
    point.leader = factories.member(nickname="王团长")
    point.save(update_fields=["leader"])
    leader_cookies = session_cookies(live_server.url, point.leader, language="zh-hans")
    counter = reverse("fulfillment:pickup-point", args=[point.pk])

    with sync_playwright() as p:
        browser = launch(p)
        try:
            # Each code as the member's order page draws it: qr_svg's markup in the panel's box and styles.
            screen = phone_page(browser, [])
            static = f"{live_server.url}/static/css"
            screen.set_content(
                f'<link rel="stylesheet" href="{static}/app.css"><link rel="stylesheet" href="{static}/member.css">'
                f'<link rel="stylesheet" href="{static}/pickup.css"><div class="pk-qr" id="pickup-qr"></div>'
            )
            pictures = {}
            for code in CODES_ZXING_JS_MISSED:
                screen.evaluate(
                    "svg => { document.getElementById('pickup-qr').innerHTML = svg; }", qr_svg(code, quiet_zone=4)
                )
                pictures[code] = tmp_path / f"{code}.png"
                screen.locator("#pickup-qr").screenshot(path=str(pictures[code]))
            assert Image.open(pictures[code]).size == (432, 432)  # the 216 px box at twice the density

            assert codes_unread_at_the_counter(browser, leader_cookies, f"{live_server.url}{counter}", pictures) == []
        finally:
            browser.close()


def test_the_counter_reads_every_printed_hand_out_label_from_a_picture(live_server, tmp_path):
    """The bag labels print the pickup code's QR with a 2-module margin, 22 mm on A4 and 26 mm on a receipt roll:
    a picture of each, at a phone camera's modest resolution, is read at the counter."""
    day = make_day(suppliers=2, points=1, members=8, campaigns=2)
    point = day.points[0]
    point.leader = factories.member(nickname="王团长")
    point.save(update_fields=["leader"])
    split_day(brand_id=day.brand_id, delivery_date=day.delivery_date)
    codes = {row.code for row in handout_rows(point.pk, day.delivery_date) if row.units}
    assert len(codes) >= 4
    leader_cookies = session_cookies(live_server.url, point.leader, language="zh-hans")
    labels = reverse("fulfillment:doc-handout-labels", args=[day.delivery_date.isoformat(), point.pk])
    counter = reverse("fulfillment:pickup-point", args=[point.pk])

    with sync_playwright() as p:
        browser = launch(p)
        try:
            unread = []
            for paper, width in (("a4", 834), ("80mm", 343)):
                context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=2)
                context.add_cookies(leader_cookies)
                sheet = context.new_page()
                sheet.goto(f"{live_server.url}{labels}?paper={paper}")
                sheet.emulate_media(media="print")
                pictures = {}
                for qr in sheet.locator(".label .qr").all():
                    code = qr.get_attribute("aria-label").split()[-1]
                    pictures[code] = tmp_path / f"label-{paper}-{code}.png"
                    qr.screenshot(path=str(pictures[code]))
                context.close()
                assert set(pictures) == codes, paper
                unread += codes_unread_at_the_counter(browser, leader_cookies, f"{live_server.url}{counter}", pictures)
            assert unread == []
        finally:
            browser.close()
