"""Replies about what was made (a mixin of ``ReplyWriter``): progress while it is built, the
delivery with its links, what can be done next, and a publishing or sending done or failed.

Kept apart from the questions and the read-back, which are the rest of the writer: these are
the replies the generation queue and the desk cause, and the only ones that carry links.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from assistant.dialog.wording import sentences
from assistant.events import ArtifactLink, Choice, Progress, Reply, ReplyKind
from assistant.jobs.catalog import Job, Question
from assistant.jobs.phrases import Phrases
from assistant.session import Artifact, Session

_LOGGER = logging.getLogger(__name__)
# Notes for staff only (the log and the manifest), never said to the user.
STAFF_NOTES = ("llm_",)
# Channels where the result arrives as chat messages rather than on a screen beside the user.
CHAT_CHANNELS = frozenset({"telegram"})


class DeliveryReplies:
    """Progress, delivery, what next and sharing, worded in the session's language."""

    phrases: Phrases
    base_url: str
    delivered_question: Question
    share_kinds: tuple[str, ...]

    if TYPE_CHECKING:  # the writer's own, declared for the type checker only

        def say(self, session: Session, key: str, **params: Any) -> str: ...

        def reply(
            self,
            session: Session,
            kind: ReplyKind,
            text: str,
            *,
            speech: str | None = None,
            question_id: str | None = None,
            choices: tuple[Choice, ...] = (),
            progress: Progress | None = None,
            links: tuple[ArtifactLink, ...] = (),
            stop: bool = False,
        ) -> Reply: ...

        def info(self, session: Session, key: str, **params: Any) -> Reply: ...

    def progress(self, session: Session, stage: str, fraction: float | None) -> Reply:
        """A generation stage ("writing", "checking"), said once each."""
        key = f"progress_stage.{stage}"
        text = self.say(session, key) if self.phrases.has(key) else ""
        return self.reply(
            session, ReplyKind.PROGRESS, text, progress=Progress(stage=stage, fraction=fraction)
        )

    def delivered_next(self, session: Session) -> Reply:
        """What can be done after delivery."""
        choices = tuple(
            Choice(id=c.id, label=c.label.get(session.language), number=i)
            for i, c in enumerate(self.delivered_question.choices, start=1)
        )
        text = self.say(session, "delivered_next")
        if self.share_kinds:
            offer = "both" if len(self.share_kinds) > 1 else self.share_kinds[0]
            text = sentences([text, self.say(session, f"share_offer.{offer}")])
        return self.reply(session, ReplyKind.QUESTION, text, choices=choices)

    def shared(self, session: Session, kind: str, url: str) -> Reply:
        """A publishing or sending done: the page's address on screen, never read aloud."""
        if kind != "publish":
            return self.info(session, "share_sent")
        link = ArtifactLink("site", url, self.say(session, "link_site"))
        return self.reply(
            session,
            ReplyKind.INFO,
            self.say(session, "share_published", url=url),
            speech=self.say(session, "share_published_speech"),
            links=(link,),
        )

    def share_failed(self, session: Session, code: str) -> Reply:
        """Why a publishing or sending did not happen, in words; the artifact is unchanged."""
        key = f"share_failed.{code}"
        return self.reply(
            session,
            ReplyKind.PROBLEM,
            self.say(session, key if self.phrases.has(key) else "share_failed.other"),
        )

    def delivery(self, session: Session, job: Job, artifact: Artifact) -> Reply:
        """The finished artifact: links on screen; for the ear, where to find them."""
        title = job.title.get(session.language)
        parts = [self.say(session, "delivered", title=title)]
        for note in artifact.manifest.get("notes", ()):
            key = f"note.{note.get('key')}"
            if str(note.get("key", "")).startswith(STAFF_NOTES):
                # Whether the language model helped means nothing to a user: staff read the
                # log (and the manifest); the user gets the working result and no excuse.
                _LOGGER.info("artifact %s: %s", artifact.id, self.phrases.say("en", key))
            elif self.phrases.has(key):
                parts.append(self.say(session, key))
        links = self.links(artifact, session.language)
        if not links:  # made without the server (assistant generate): point at the folder
            separator = self.say(session, "list_separator")
            parts.append(
                self.say(
                    session,
                    "delivered_files",
                    files=separator.join(artifact.files),
                    folder=artifact.folder,
                )
            )
        speech_key = (
            "delivered_speech_chat" if session.channel in CHAT_CHANNELS else "delivered_speech"
        )
        speech = sentences([self.say(session, speech_key, title=title), *parts[1:]])
        return self.reply(session, ReplyKind.DELIVERY, sentences(parts), speech=speech, links=links)

    def links(self, artifact: Artifact, language: str) -> tuple[ArtifactLink, ...]:
        """Preview, download and QR code links of an artifact served by this service."""
        if not artifact.token:
            return ()
        base, token, say = self.base_url, artifact.token, self.phrases.say
        return (
            ArtifactLink("preview", f"{base}/p/{token}/", say(language, "link_preview")),
            ArtifactLink("download", f"{base}/a/{token}", say(language, "link_download")),
            ArtifactLink("qr", f"{base}/q/{token}.svg", say(language, "link_qr")),
        )
