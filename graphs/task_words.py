"""The one catalogue of task words (``prompts/task_cues.json``), compiled once.

Which words say a task is spelt in data, in one place: the cue words a task the model read must find in the text
(the reading schema offers only those tasks, and the reading is checked against them), the words where a request
for a task begins in a message that asks for several, the verbs that name a task beyond doubt, and the words about
the customer's profile. Code never spells a task word of its own.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from prompts import load_data


@cache
def _catalogue() -> dict[str, Any]:
    return load_data("task_cues")


@cache
def _compiled(section: str | None) -> dict[str, re.Pattern[str]]:
    """The patterns of one section (None: the cues, the file's task keys) by task, case-insensitive."""
    table = _catalogue() if section is None else _catalogue()[section]
    return {task: re.compile(pattern, re.I) for task, pattern in table.items() if not task.startswith("_")}


def cue(task: str) -> re.Pattern[str] | None:
    """The cue words of ``task``, or None for an unknown task."""
    return _compiled(None).get(task)


def cue_said(task: str, text: str) -> bool:
    """The text has a cue word of ``task``, or its verb misspelt by a letter ("cancle")."""
    pattern = cue(task)
    return pattern is not None and bool(pattern.search(text) or _misspelt(task, text))


def start(task: str, text: str) -> re.Match[str] | None:
    """Where a request for ``task`` begins in the text (its first starting word), or None."""
    pattern = _compiled("_starts").get(task)
    return pattern.search(text) if pattern else None


def beyond_doubt(text: str) -> list[str]:
    """The task the text names beyond doubt ("cancel", "exchange", "talk to a human"), at most one; a negated
    verb ("I don't want to cancel") names none."""
    for task, pattern in _compiled("_beyond_doubt").items():
        if pattern.search(text) and not negated(task, text):
            return [task]
    return []


def negated(task: str, text: str) -> bool:
    """The text says the task's beyond-doubt verb is not wanted ("don't <verb>", "no need to <verb>")."""
    pattern = _negated().get(task)
    return bool(pattern and pattern.search(text))


@cache
def _negated() -> dict[str, re.Pattern[str]]:
    lead = _catalogue()["_negation"]
    return {task: re.compile(f"{lead}(?:{verb})", re.I) for task, verb in _catalogue()["_beyond_doubt"].items()}


#: Cancellation reasons and the reading check (``prompts/reading_checks.json``) that holds each one's words.
REASON_CHECKS = {"ordered by mistake": "reason_mistake", "no longer needed": "reason_not_needed"}


def stated_reasons(text: str) -> list[str]:
    """The cancellation reasons whose words the text has (the reading checks' own words), in that order."""
    return [reason for reason, pattern in _reason_words().items() if pattern.search(text)]


@cache
def _reason_words() -> dict[str, re.Pattern[str]]:
    checks = load_data("reading_checks")
    return {reason: re.compile(checks[check], re.I) for reason, check in REASON_CHECKS.items()}


def profile_said(text: str) -> bool:
    """The text has a word about the customer's profile ("my default address", "I moved", "on my account")."""
    return bool(_profile().search(text))


@cache
def _profile() -> re.Pattern[str]:
    return re.compile(_catalogue()["_profile"], re.I)


def _misspelt(task: str, text: str) -> bool:
    """The text has the task's verb misspelt by one letter, or with two letters swapped."""
    verbs = _catalogue().get("_misspelt", {}).get(task, [])
    return any(_one_off(word, verb) for word in re.findall(r"[a-z]+", text.lower()) for verb in verbs
               if abs(len(word) - len(verb)) <= 1 and len(word) >= 5)


def _one_off(word: str, verb: str) -> bool:
    if word.startswith(verb) or word == verb:
        return True
    if len(word) == len(verb):
        diff = [k for k in range(len(word)) if word[k] != verb[k]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and word[diff[0]] == verb[diff[1]] and word[diff[1]] == verb[diff[0]])
    short, long_ = sorted((word, verb), key=len)
    return any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))
