import pytest

from schemas import subjects
from schemas.subjects import SubjectError

pytestmark = pytest.mark.unit


def test_a_live_subject_is_built_from_crisis_and_type() -> None:
    assert subjects.live("alex-06", "incident.reported") == "crisis.alex-06.incident.reported"


def test_a_live_subject_parses_back_into_its_parts() -> None:
    parsed = subjects.parse_live("crisis.alex-06.plan.activation_proposed")
    assert (parsed.crisis_id, parsed.event_type) == ("alex-06", "plan.activation_proposed")


def test_a_replay_subject_parses_to_the_same_live_parts() -> None:
    subject = subjects.replay("retex1", "alex-06", "incident.reported")
    assert subject == "replay.retex1.crisis.alex-06.incident.reported"
    assert subjects.parse_live(subject).crisis_id == "alex-06"


@pytest.mark.parametrize(
    "hostile",
    ["a.b", "*", ">", "a b", "a\tb", "a\nb", "", "é", "-lead", "x" * 65, "alex.>", "a*"],
)
def test_subjects_refuse_tokens_that_could_inject(hostile: str) -> None:
    with pytest.raises(SubjectError):
        subjects.live(hostile, "incident.reported")
    with pytest.raises(SubjectError):
        subjects.deadletter(hostile)
    with pytest.raises(SubjectError):
        subjects.replay(hostile, "alex-06", "incident.reported")
    with pytest.raises(SubjectError):
        subjects.live_filter(hostile)


@pytest.mark.parametrize(
    "bad_type", ["incident", "incident.reported.x", "Incident.reported", "a.*"]
)
def test_subjects_refuse_malformed_event_types(bad_type: str) -> None:
    with pytest.raises(SubjectError):
        subjects.live("alex-06", bad_type)


@pytest.mark.parametrize(
    "subject", ["crisis.a.b", "crisis.a.b.c.d", "other.a.b.c", "crisis.a b.x.y", "replay.s.a.b"]
)
def test_parsing_refuses_what_is_not_a_live_subject(subject: str) -> None:
    with pytest.raises(SubjectError):
        subjects.parse_live(subject)
