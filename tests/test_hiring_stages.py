import pytest

from workbench.decisions import TERMINAL, HiringStage, InvalidTransition, allowed_next, check_transition
from workbench.i18n import label, t


def test_happy_path_moves_are_allowed():
    path = ["ai_interview_done", "awaiting_hr_interview", "offer_sent", "offer_accepted", "onboarded"]
    for cur, new in zip(path, path[1:]):
        assert check_transition(cur, new) is HiringStage(new)


@pytest.mark.parametrize("cur,new", [("rejected", "offer_sent"), ("onboarded", "rejected"), ("offer_declined", "offer_accepted"),
                                     ("ai_interview_done", "offer_sent"), ("offer_sent", "offer_sent")])
def test_invalid_moves_name_what_is_allowed(cur, new):
    with pytest.raises(InvalidTransition) as err:
        check_transition(cur, new)
    assert cur in str(err.value) and new in str(err.value)
    assert err.value.current == cur and err.value.requested == new


def test_unknown_stage_is_a_clear_error():
    with pytest.raises(InvalidTransition, match="unknown requested hiring stage 'hired'"):
        check_transition("ai_interview_done", "hired")


def test_rejected_candidate_can_ask_for_human_review():
    assert HiringStage.HUMAN_REVIEW in allowed_next("rejected")
    assert TERMINAL == {HiringStage.OFFER_DECLINED, HiringStage.ONBOARDED}


def test_every_stage_has_labels_in_both_languages():
    for stage in HiringStage:
        assert label("hiring_stage", stage.value, "zh") != stage.value
        assert label("hiring_stage", stage.value, "en").isascii()
    assert t("hiring_stage.offer_sent", "zh") == "已发offer"
