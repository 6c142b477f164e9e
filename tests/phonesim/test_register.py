"""Registration of simulated phones with the box: digest, refresh, unregister, refusals,
a bank of phones, bad input on the phone's port, and the command line."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys

import pytest

from appliance.clock import VirtualClock
from drivers.sim.sip_phone import PhoneBank, PhoneEvent, RegistrationFailed, SimPhone
from tests.phonesim.conftest import ACCOUNTS, box, wait_until


async def test_registers_with_digest_and_unregisters_on_stop():
    async with box() as (channel, host):
        events: list[PhoneEvent] = []
        phone = SimPhone("101", ACCOUNTS["101"], ("127.0.0.1", channel.port),
                         on_event=events.append, expires=600)
        assert not channel.reaches("101")
        await phone.start()
        assert channel.reaches("101") and phone.registered
        assert phone.registration.granted == 600
        (binding,) = channel.registrar.bindings("101")
        assert binding.contact == f"sip:101@127.0.0.1:{phone.port}"
        await phone.stop()
        assert not channel.reaches("101")
        assert [e.kind for e in events] == ["registered", "unregistered"]
        states = [e.data["state"] for e in host.events if e.kind == "phone.registration"]
        assert states == ["registered", "unregistered"]


async def test_wrong_password_fails_cleanly_without_retry_storm():
    async with box() as (channel, host):
        phone = SimPhone("101", "not-the-password", ("127.0.0.1", channel.port))
        with pytest.raises(RegistrationFailed) as failure:
            await phone.start()
        assert failure.value.status == 403
        assert not channel.reaches("101") and not phone.running
        # one challenge answered once: the box saw two REGISTERs, not a loop
        assert channel.stack.counters["received"] == 2


async def test_unknown_registrar_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        phone = SimPhone("101", "x", silent.getsockname(), t1=0.05)
        with pytest.raises(RegistrationFailed, match="no answer"):
            await phone.start(timeout=1.0)
        assert not phone.running


async def test_refreshes_before_expiry_on_the_injected_clock():
    """The phone's timers run on a virtual clock; the sockets are real."""
    async with box(min_expires=60) as (channel, host):
        clock = VirtualClock()
        phone = SimPhone("102", ACCOUNTS["102"], ("127.0.0.1", channel.port), clock=clock,
                         expires=60)
        await phone.start()
        (binding,) = channel.registrar.bindings("102")
        first_cseq = binding.cseq
        clock.advance(47)  # refresh is due at 80 % of 60 s
        assert channel.registrar.bindings("102")[0].cseq == first_cseq
        clock.advance(1)
        await wait_until(lambda: channel.registrar.bindings("102")[0].cseq > first_cseq,
                         what="refresh REGISTER")
        # the refresh carried credentials for the remembered nonce (nc=2): no new 401
        assert channel.registrar.bindings("102")[0].cseq == first_cseq + 1
        assert phone.registered
        stop = asyncio.create_task(phone.stop())
        await wait_until(lambda: not channel.reaches("102"), what="unregister")
        await stop


async def test_interval_too_brief_is_retried_with_min_expires():
    async with box(min_expires=120) as (channel, host):
        phone = SimPhone("101", ACCOUNTS["101"], ("127.0.0.1", channel.port), expires=30)
        await phone.start()
        assert phone.registration.granted == 120
        await phone.stop()


async def test_phone_bank_registers_all_and_reports_the_refused():
    accounts = {**ACCOUNTS, "104": "wrong"}
    async with box() as (channel, host):
        seen: list[str] = []
        bank = PhoneBank(accounts, ("127.0.0.1", channel.port),
                         on_event=lambda e: seen.append(f"{e.extension}:{e.kind}"))
        failures = await bank.start()
        assert list(failures) == ["104"]
        assert sorted(bank.registered) == ["101", "102", "103"]
        assert all(channel.reaches(ext) for ext in ACCOUNTS)
        assert sorted(seen) == ["101:registered", "102:registered", "103:registered",
                                "104:registration_failed"]
        await bank.stop()
        assert not any(channel.reaches(ext) for ext in ACCOUNTS)


async def test_garbage_on_the_phone_port_is_answered_or_dropped_and_phone_keeps_working():
    from tests.phonesim.test_calls import make_phone  # noqa: PLC0415

    async with box() as (channel, host):
        phone = make_phone(channel, answer_after=(0, 0), talk_seconds=None)
        await phone.start()
        loop = asyncio.get_running_loop()
        replies: list[bytes] = []

        class Sender(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                replies.append(data)

        transport, _ = await loop.create_datagram_endpoint(Sender, local_addr=("127.0.0.1", 0))
        port = transport.get_extra_info("sockname")[1]
        target = ("127.0.0.1", phone.port)
        transport.sendto(b"\x00\xffnot sip at all", target)
        broken = (f"INVITE sip:101@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port}"
                  ";branch=z9hG4bKbad1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:101@127.0.0.1>\r\n"
                  "Call-ID: bad1\r\nCSeq: one INVITE\r\nContent-Length: 0\r\n\r\n")
        transport.sendto(broken.encode(), target)
        stray_bye = (f"BYE sip:101@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port}"
                     ";branch=z9hG4bKbad2\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:101@127.0.0.1>"
                     "\r\nCall-ID: bad2\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n")
        transport.sendto(stray_bye.encode(), target)
        await wait_until(lambda: len(replies) >= 1 and any(b" 481 " in r for r in replies),
                         what="481 to the stray BYE")
        transport.close()
        from drivers.base import CallerId  # noqa: PLC0415
        from tests.phonesim.conftest import LegRecorder  # noqa: PLC0415

        recorder = LegRecorder()
        channel.originate("101", CallerId("5550009"), recorder)
        await asyncio.wait_for(recorder.answered, 5)
        await phone.stop()


async def test_command_line_registers_phones_and_unregisters_on_sigterm():
    async with box() as (channel, host):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "drivers.sim.sip_phone",
            "--registrar", f"127.0.0.1:{channel.port}",
            "--ext", f"101:{ACCOUNTS['101']}", "--ext", f"102:{ACCOUNTS['102']}",
            "--dial", "102:*45", "--voice", "silence",
            cwd=root, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            await wait_until(lambda: channel.reaches("101") and channel.reaches("102"),
                             timeout=15, what="phones of the command line")
            leg = (await wait_until(lambda: host.legs, what="the dialled call"))[0]
            assert (leg.dialled, leg.caller.number) == ("*45", "102")
            await wait_until(lambda: leg.state.value == "answered", what="answered")
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 10)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, out
        assert not channel.reaches("101") and not channel.reaches("102")
        text = out.decode()
        assert "101: registered" in text and "102: unregistered" in text
        assert "102: answered *45" in text and "102: hangup *45" in text
        assert (await asyncio.wait_for(host.recorders[leg.id].hangup, 5))[1] is True


async def test_registers_against_a_sha256_only_registrar():
    async with box(digest_algorithms="SHA-256") as (channel, host):
        phone = SimPhone("103", ACCOUNTS["103"], ("127.0.0.1", channel.port))
        await phone.start()
        assert channel.reaches("103")
        assert phone.digest.challenge is not None
        assert phone.digest.challenge.algorithm == "SHA-256"
        await phone.stop()


async def test_registrar_away_then_back_phone_retries_and_renews_a_stale_nonce():
    """The box restarts on the same port: the refresh goes unanswered, the phone retries
    after ``retry_seconds``; the new box calls the remembered nonce stale (not its own),
    the phone answers the fresh challenge and is registered again."""
    clock = VirtualClock()
    events: list[str] = []
    async with box(min_expires=60) as (first, host):
        port = first.port
        phone = SimPhone("101", ACCOUNTS["101"], ("127.0.0.1", port), clock=clock,
                         expires=60, retry_seconds=30, t1=0.1,
                         on_event=lambda e: events.append(e.kind))
        await phone.start()
    clock.advance(48)  # the refresh goes out to nobody
    clock.advance(0.1 * 64)  # Timer F: the REGISTER transaction gives up
    assert phone.registration.state == "failed" and events[-1] == "registration_failed"
    async with box(min_expires=60, listen=f"127.0.0.1:{port}") as (second, host):
        clock.advance(30)
        await wait_until(lambda: phone.registered, what="registered again")
        assert second.reaches("101")
        assert second.stack.counters["received"] == 2  # stale credentials, then fresh
        assert phone.digest.challenge is not None and phone.digest.challenge.stale
        assert events == ["registered", "registration_failed", "registered"]
        await phone.stop()


@pytest.mark.parametrize("argv, message", [
    (["--voice", "tone:loud"], "--voice tone:loud"),
    (["--voice", "/nonexistent/voice.wav"], "--voice /nonexistent/voice.wav"),
    (["--answer-after", "7-2"], "answer_after must be (low, high)"),
    (["--no-answer-ratio", "0.8", "--busy-ratio", "0.5"], "must not exceed 1"),
])
def test_command_line_refuses_bad_options_with_a_message(argv, message, capsys):
    from drivers.sim.phone_cli import main  # noqa: PLC0415

    assert main(["--ext", "101:pw", *argv]) == 2
    assert message in capsys.readouterr().out


def test_command_line_needs_a_well_formed_extension(capsys):
    from drivers.sim.phone_cli import main  # noqa: PLC0415

    with pytest.raises(SystemExit):
        main(["--ext", "101-without-password"])
    assert "expected EXT:PASSWORD" in capsys.readouterr().err
