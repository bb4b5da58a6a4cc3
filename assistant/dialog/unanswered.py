"""A "how do I ..." question the help texts cannot answer (issue 14, part H).

Said plainly, in the user's language, with who can help: a passage about something else is
worse than "I don't know". At a free-text question the words may be the answer itself (a
quiz question, "How to draw cats"), so there only a question about using the service is
answered this way; anything else is taken as the answer, as before.
"""

from __future__ import annotations

from assistant.dialog import utterances as said
from assistant.dialog.flow import DialogFlow, Step
from assistant.session import Session
from assistant.understanding.phrases import is_usage_question


def not_known(flow: DialogFlow, session: Session, text: str) -> Step | None:
    """ "I don't know, staff can help", then the question again; None where it is an answer."""
    question = flow.current_question(session)
    free_words = question is not None and question.type in ("text", "list")
    if free_words and not is_usage_question(text):
        return None
    return Step([said.info("knowledge_unknown"), flow.prompt(session)])
