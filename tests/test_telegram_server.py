"""The fake Telegram Bot API speaks the real wire protocol: aiogram's own Bot drives it.

Nothing in aiogram is mocked. If these pass, a production bot built on aiogram can run
unchanged against ``FakeBotApi`` and what it sees (results, exceptions, polling) is what
Telegram would give it.
"""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator

import aiohttp
import numpy as np
import pytest
import soundfile
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
)
from aiogram.utils.backoff import BackoffConfig

from testing.telegram import FakeBotApi, WaitTimeout

TOKEN = "123456:TEST"
CHAT = 4242


def make_bot(api: FakeBotApi, timeout: float = 5.0, token: str = TOKEN, **kwargs: object) -> Bot:
    """A real aiogram Bot pointed at the fake, the way production code will be configured."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url), timeout=timeout)
    return Bot(token, session=session, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        server.add_chat(CHAT, first_name="Ada")
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = make_bot(api)
    yield bot
    await bot.session.close()


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[list(buttons)])


def same(left: InlineKeyboardMarkup, right: InlineKeyboardMarkup) -> bool:
    """Compare by content: parsed objects also carry the bot they came through."""
    return left.model_dump(exclude_none=True) == right.model_dump(exclude_none=True)


def png(width: int, height: int) -> bytes:
    """A valid greyscale PNG, small enough to build inline: photos must be real images."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def voice_note(seconds: float = 1.0, rate: int = 16000) -> tuple[np.ndarray, bytes]:
    """A 440 Hz tone as an OGG/Opus voice note, encoded with soundfile (no ffmpeg)."""
    t = np.arange(int(seconds * rate)) / rate
    signal = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, rate, format="OGG", subtype="OPUS")
    return signal, buffer.getvalue()


async def test_get_me_wrong_token_and_unknown_method(api: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "facility_test_bot")

    intruder = make_bot(api, token="123456:WRONG")
    with pytest.raises(TelegramUnauthorizedError, match="Unauthorized"):
        await intruder.get_me()
    await intruder.session.close()

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{api.base_url}/bot{TOKEN}/noSuchMethod") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
        # JSON bodies and any letter case work too, as on Telegram.
        async with http.post(
            f"{api.base_url}/bot{TOKEN}/SENDMESSAGE", json={"chat_id": CHAT, "text": "json"}
        ) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["text"] == "json"
    # Calls with a wrong token never reach a method, so they are not counted.
    assert api.calls["getMe"] == 1 and api.calls["noSuchMethod"] == 1


async def test_send_message_with_inline_keyboard(api: FakeBotApi, bot: Bot) -> None:
    markup = keyboard(
        InlineKeyboardButton(text="Yes", callback_data="answer:yes"),
        InlineKeyboardButton(text="Open", url="https://example.org/page"),
    )
    message = await bot.send_message(
        CHAT,
        "  Ready & waiting ",
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert message.text == "Ready & waiting"  # Telegram trims the text
    assert message.from_user and message.from_user.is_bot
    assert message.reply_markup and same(message.reply_markup, markup)

    sent = api.sent[-1]
    assert (sent.method, sent.chat_id, sent.message_id) == ("sendMessage", CHAT, message.message_id)
    assert sent.text == "  Ready & waiting " and sent.plain_text == "Ready & waiting"
    assert sent.button("Yes")["callback_data"] == "answer:yes"
    assert sent.params["link_preview_options"] == {"is_disabled": True}
    assert api.messages(CHAT) == {message.message_id: "Ready & waiting"}

    second = await bot.send_message(CHAT, "plain", disable_web_page_preview=True)
    assert second.message_id == message.message_id + 1
    assert api.sent[-1].params["disable_web_page_preview"] is True


async def test_edit_message_text_and_not_modified(api: FakeBotApi, bot: Bot) -> None:
    markup = keyboard(InlineKeyboardButton(text="Again", callback_data="again"))
    message = await bot.send_message(CHAT, "Working...", reply_markup=markup)

    edited = await bot.edit_message_text(
        "Done", chat_id=CHAT, message_id=message.message_id, reply_markup=markup
    )
    assert isinstance(edited, Message) and edited.text == "Done" and edited.edit_date
    assert api.messages(CHAT) == {message.message_id: "Done"}

    recorded = len(api.sent)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "Done", chat_id=CHAT, message_id=message.message_id, reply_markup=markup
        )
    assert len(api.sent) == recorded  # a failed call is not a sent message

    # Like Telegram: an edit without reply_markup drops the keyboard.
    await bot.edit_message_text("Done", chat_id=CHAT, message_id=message.message_id)
    assert "reply_markup" not in api.message(CHAT, message.message_id)

    restored = await bot.edit_message_reply_markup(
        chat_id=CHAT, message_id=message.message_id, reply_markup=markup
    )
    assert isinstance(restored, Message) and restored.reply_markup
    assert same(restored.reply_markup, markup)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=message.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)
    assert [s.method for s in api.sent] == [
        "sendMessage",
        "editMessageText",
        "editMessageText",
        "editMessageReplyMarkup",
    ]


async def test_telegram_rejects_what_it_rejects(api: FakeBotApi, bot: Bot) -> None:
    # The bot sends plain text; markup is not modelled, so sending it is refused loudly.
    with pytest.raises(TelegramBadRequest, match="parse_mode 'HTML' is not modelled"):
        await bot.send_message(CHAT, "<b>Done</b>", parse_mode="HTML")
    ok = await bot.send_message(CHAT, "Done")
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(
            CHAT,
            "hi",
            reply_markup=keyboard(InlineKeyboardButton(text="A", callback_data="x" * 65)),
        )
    with pytest.raises(TelegramBadRequest, match="Wrong HTTP URL"):
        await bot.send_message(
            CHAT,
            "hi",
            reply_markup=keyboard(InlineKeyboardButton(text="A", url="http://localhost:8080/p")),
        )
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(CHAT, "")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "a" * 4097)
    assert api.sent == [api.sent[0]] and api.sent[0].message_id == ok.message_id


async def test_unknown_and_blocked_chats(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "nobody wrote to the bot from here")
    api.block(CHAT)
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(CHAT, "hello?")
    api.block(CHAT, blocked=False)
    await bot.send_message(CHAT, "hello again")


async def test_document_photo_voice_uploads_and_download(api: FakeBotApi, bot: Bot) -> None:
    document = await bot.send_document(
        CHAT, BufferedInputFile(b"<html>page</html>", filename="page.html"), caption="Your page"
    )
    assert document.document and document.document.file_name == "page.html"
    assert document.caption == "Your page"
    assert api.sent[-1].files == {"document": ("page.html", b"<html>page</html>")}

    photo = await bot.send_photo(CHAT, BufferedInputFile(png(40, 30), filename="shot.png"))
    assert photo.photo and (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(CHAT, BufferedInputFile(b"not an image", filename="x.png"))

    _, ogg = voice_note(0.5)
    voice = await bot.send_voice(CHAT, BufferedInputFile(ogg, filename="reply.ogg"), duration=1)
    assert voice.voice and voice.voice.mime_type == "audio/ogg" and voice.voice.duration == 1
    assert api.sent[-1].files["voice"] == ("reply.ogg", ogg)

    file = await bot.get_file(document.document.file_id)
    assert file.file_path and file.file_size == len(b"<html>page</html>")
    downloaded = await bot.download(file)
    assert downloaded is not None and downloaded.read() == b"<html>page</html>"

    # Re-sending by file_id works without a new upload, as on Telegram.
    again = await bot.send_document(CHAT, document.document.file_id)
    assert again.document and again.document.file_id == document.document.file_id
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file")


async def test_voice_note_round_trip(api: FakeBotApi, bot: Bot) -> None:
    signal, ogg = voice_note(1.0)
    update_id = api.push_voice(CHAT, ogg, duration=1)

    [update] = await bot.get_updates(timeout=1)
    assert update.update_id == update_id
    assert update.message and update.message.voice and update.message.voice.duration == 1
    audio_file = io.BytesIO()
    await bot.download(update.message.voice, destination=audio_file)
    assert audio_file.getvalue() == ogg

    decoded, rate = soundfile.read(audio_file)
    assert rate == 16000 and abs(len(decoded) - len(signal)) < 400
    length = min(len(decoded), len(signal))
    assert np.corrcoef(decoded[:length], signal[:length])[0, 1] > 0.95


async def test_get_updates_offset_and_long_polling(api: FakeBotApi, bot: Bot) -> None:
    first = api.push_text(CHAT, "/start", language_code="ja")
    second = api.push_text(CHAT, "hello")
    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message and updates[0].message.entities
    assert updates[0].message.entities[0].type == "bot_command"
    assert updates[0].message.from_user and updates[0].message.from_user.language_code == "ja"
    assert [u.update_id for u in await bot.get_updates()] == [first, second]  # unconfirmed

    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert await bot.get_updates(offset=second + 1) == []
    assert api.pending_updates == []

    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(offset=second + 1, timeout=5))
    await asyncio.sleep(0.2)
    assert not poll.done()
    third = api.push_text(CHAT, "are you there?")
    assert [u.update_id for u in await poll] == [third]
    assert loop.time() - started < 2  # returned on the push, not at the 5 s timeout

    api.push_text(CHAT, "four")
    api.push_text(CHAT, "five")
    assert [u.message.text for u in await bot.get_updates(offset=-1) if u.message] == ["five"]


async def test_second_poller_conflicts_with_first(api: FakeBotApi, bot: Bot) -> None:
    other = make_bot(api)
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(other.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    api.push_text(CHAT, "hi")
    assert len(await second) == 1
    await other.session.close()


async def test_dispatcher_polling_handles_message_and_callback(api: FakeBotApi, bot: Bot) -> None:
    dispatcher = Dispatcher()
    choices = keyboard(
        InlineKeyboardButton(text="Yes", callback_data="yes"),
        InlineKeyboardButton(text="No", callback_data="no"),
    )

    @dispatcher.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Shall we start?", reply_markup=choices)

    @dispatcher.callback_query(F.data == "yes")
    async def yes(query: CallbackQuery) -> None:
        await query.answer("Noted")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Let's go")

    # The first poll fails: aiogram logs it, backs off and polls again; it never raises.
    api.fail_next("getUpdates", status=500)
    polling = asyncio.create_task(
        dispatcher.start_polling(
            bot,
            handle_signals=False,
            close_bot_session=False,
            polling_timeout=5,
            backoff_config=BackoffConfig(min_delay=0.05, max_delay=0.2, factor=1.5, jitter=0.01),
        )
    )
    try:
        api.push_text(CHAT, "/start")
        question = await api.wait_for(method="sendMessage", chat_id=CHAT, timeout=5)
        assert question.text == "Shall we start?" and question.button("No")["callback_data"] == "no"

        api.press(CHAT, "Yes")
        await api.wait_for(lambda s: s.plain_text == "Let's go", method="editMessageText")
        answer = await api.wait_for(method="answerCallbackQuery", timeout=1)
        assert answer.text == "Noted" and answer.message_id == question.message_id
        assert api.messages(CHAT) == {question.message_id: "Let's go"}
    finally:
        await dispatcher.stop_polling()
        await polling
    assert [c.status for c in api.call_log if c.method == "getUpdates"][:2] == [500, 200]
    # aiogram asks only for the update types it has handlers for, and confirmed both.
    assert sorted(api.allowed_updates or []) == ["callback_query", "message"]
    assert api.pending_updates == []


async def test_answer_callback_query_once_and_in_time(api: FakeBotApi, bot: Bot) -> None:
    message = await bot.send_message(
        CHAT, "Pick", reply_markup=keyboard(InlineKeyboardButton(text="A", callback_data="a"))
    )
    api.push_callback(CHAT, message.message_id, "a")
    [update] = await bot.get_updates()
    assert update.callback_query and update.callback_query.data == "a"
    assert isinstance(update.callback_query.message, Message)
    assert await bot.answer_callback_query(update.callback_query.id, text="ok", show_alert=True)
    assert api.sent[-1].params["show_alert"] is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(update.callback_query.id)

    api.callback_answer_timeout = 0.05
    api.press(CHAT, "A")
    [late] = await bot.get_updates(offset=update.update_id + 1)
    await asyncio.sleep(0.1)
    assert late.callback_query
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await late.callback_query.answer()


async def test_webhook_commands_chat_action_delete(api: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="HTTPS URL must be provided"):
        await bot.set_webhook("http://example.org/hook")
    assert await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    assert api.webhook["url"] == "https://example.org/hook"
    assert api.webhook["secret_token"] == "s3cret"
    api.push_text(CHAT, "queued")
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == ("https://example.org/hook", 1)
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == "" and api.pending_updates == []

    commands = [
        BotCommand(command="start", description="Begin"),
        BotCommand(command="help", description="Help"),
    ]
    assert await bot.set_my_commands(commands)
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]

    assert await bot.send_chat_action(CHAT, "typing")
    assert api.chat_actions[-1][:2] == (CHAT, "typing")

    message = await bot.send_message(CHAT, "temporary")
    assert await bot.delete_message(CHAT, message.message_id)
    assert api.messages(CHAT) == {}
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(CHAT, message.message_id)


async def test_429_raises_retry_after_and_is_not_recorded(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", status=429, retry_after=2)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "too fast")
    assert caught.value.retry_after == 2
    assert "Too Many Requests: retry after 2" in str(caught.value)
    assert api.sent == []
    await bot.send_message(CHAT, "later")
    assert [s.text for s in api.sent] == ["later"] and api.calls["sendMessage"] == 2
    assert [c.status for c in api.call_log if c.method == "sendMessage"] == [429, 200]


async def test_500_raises_server_error_for_the_given_number_of_calls(
    api: FakeBotApi, bot: Bot
) -> None:
    api.fail_next("editMessageText", status=500, times=2)
    message = await bot.send_message(CHAT, "v1")
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Internal Server Error"):
            await bot.edit_message_text("v2", chat_id=CHAT, message_id=message.message_id)
    await bot.edit_message_text("v2", chat_id=CHAT, message_id=message.message_id)
    assert api.messages(CHAT) == {message.message_id: "v2"}

    api.fail_next("sendMessage", status=500, chat_id=999)  # only that chat fails
    await bot.send_message(CHAT, "unaffected")


async def test_hang_raises_network_error(api: FakeBotApi) -> None:
    impatient = make_bot(api, timeout=0.3)
    api.fail_next("sendMessage", delay=2)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await impatient.send_message(CHAT, "into the void")
    assert api.sent == []

    # deliver=True: Telegram sent it although the reply never reached the bot.
    api.fail_next("sendMessage", delay=0.5, deliver=True)
    with pytest.raises(TelegramNetworkError):
        await impatient.send_message(CHAT, "sent anyway")
    assert api.sent == []
    delivered = await api.wait_for(method="sendMessage", timeout=2)
    assert delivered.text == "sent anyway"

    # A delay shorter than the client's timeout is only a slow reply: the call succeeds.
    api.fail_next("sendMessage", delay=0.1)
    slow = await impatient.send_message(CHAT, "slow but fine")
    assert api.sent[-1].message_id == slow.message_id
    await impatient.session.close()


async def test_flood_control_and_rate_observation(bot: Bot, api: FakeBotApi) -> None:
    for text in ("one", "two", "three"):
        await bot.send_message(CHAT, text)
    assert api.max_per_window(CHAT, 1.0) == 3
    assert len(api.send_times(CHAT)) == 3

    async with FakeBotApi(token=TOKEN, min_send_interval=1.0) as strict:
        strict.add_chat(CHAT)
        strict_bot = make_bot(strict, default=DefaultBotProperties(protect_content=True))
        await strict_bot.send_message(CHAT, "first")
        with pytest.raises(TelegramRetryAfter) as caught:
            await strict_bot.send_message(CHAT, "second")
        assert caught.value.retry_after == 1
        assert strict.max_per_window(CHAT) == 1
        assert strict.sent[0].params["protect_content"] is True
        await strict_bot.session.close()


async def test_wait_for_reports_what_was_sent(api: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(CHAT, "something else")
    with pytest.raises(WaitTimeout, match="something else"):
        await api.wait_for(lambda s: "expected" in (s.text or ""), timeout=0.2)
    waiter = asyncio.create_task(api.wait_for(method="sendMessage", after=len(api.sent)))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await bot.send_message(CHAT, "new one")
    assert (await waiter).text == "new one"
