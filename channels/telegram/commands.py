"""The bot's /commands: /start, /resume CODE, /voice, /help, /cancel and /lang.

An unknown ``/word`` is treated as what it says, since "/2" is a fine answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.events import LANGUAGES, Command, CommandName, Turn
from assistant.limits import CodeVerdict
from assistant.session import CODE_ALPHABET, CODE_LENGTH
from channels.telegram.replies import show, take_turn
from channels.telegram.sender import Batch

if TYPE_CHECKING:
    from channels.telegram.bot import TelegramChannel

CHANNEL = "telegram"
COMMANDS = ("start", "help", "cancel", "lang", "resume", "voice")
MAX_TEXT = 2000


async def command(
    channel: TelegramChannel,
    chat_id: int,
    key: str,
    language: str,
    text: str,
    received: float,
    out: Batch,
) -> None:
    """One /command, as a turn or as the bot's own action."""
    name, _, argument = text[1:].partition(" ")
    name = name.split("@", 1)[0].lower()
    argument = argument.strip()
    if name == "start":
        replies = await channel.manager.resume(key, CHANNEL, language)
        await show(channel, chat_id, replies, received, out)
    elif name == "resume":
        await resume(channel, chat_id, key, language, argument, received, out)
    elif name == "voice":
        await toggle_voice(channel, chat_id, key, language, out)
    elif name in ("help", "cancel"):
        command = Command(CommandName(name))
        turn = Turn(key, text="", language=language, channel=CHANNEL, command=command)
        await take_turn(channel, chat_id, turn, received, out)
    elif name == "lang":
        wanted = argument.lower() if argument.lower() in LANGUAGES else None
        command = Command(CommandName.SWITCH_LANGUAGE, wanted)
        turn = Turn(key, text="", language=language, channel=CHANNEL, command=command)
        await take_turn(channel, chat_id, turn, received, out)
    else:  # an unknown /word is treated as what it says ("/2" is a fine answer)
        turn = Turn(key, text=text[1:MAX_TEXT], language=language, channel=CHANNEL)
        await take_turn(channel, chat_id, turn, received, out)


async def resume(
    channel: TelegramChannel,
    chat_id: int,
    key: str,
    language: str,
    code: str,
    received: float,
    out: Batch,
) -> None:
    """Continue the session a code names (kiosk, web or console) in this chat from now on."""
    code = code.upper()
    spoken_in = await channel.language_of(key, language)
    valid = len(code) == CODE_LENGTH and all(c in CODE_ALPHABET for c in code)
    if not code:
        out.text(chat_id, channel.say(spoken_in, "resume_usage"))
        return
    address = f"{CHANNEL}:{chat_id}"  # wrong codes count per chat (assistant/limits.py)
    verdict = await channel.code_guard.verdict(address)
    if verdict is CodeVerdict.CLOSED:
        out.text(chat_id, channel.say(spoken_in, "code_wait"))
        return
    session = await channel.store.find_by_code(code) if valid else None
    if session is None:
        await channel.code_guard.miss(address, code[:12])
        wrong = "code_wait" if verdict is CodeVerdict.SLOW else "no_code"
        out.text(chat_id, channel.say(spoken_in, wrong, code=code[:12]))
        return
    await channel.store.link(f"{CHANNEL}:{chat_id}", session.key)
    channel.keys[chat_id] = session.key
    replies = await channel.manager.resume(session.key, CHANNEL)
    await show(channel, chat_id, replies, received, out)


async def toggle_voice(
    channel: TelegramChannel, chat_id: int, key: str, language: str, out: Batch
) -> None:
    """Replies read aloud as voice notes, or not."""
    session = await channel.manager.session(key)
    on = not (session.preferences.get("voice") if session is not None else False)
    session = await channel.manager.update_preferences(key, CHANNEL, {"voice": on}, language)
    out.text(chat_id, channel.say(session.language, "voice_on" if on else "voice_off"))
