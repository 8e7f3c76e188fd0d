"""How the assessments app's audit events read (registered in AssessmentsConfig.ready())."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from portal.activity import Verb, actor_name, join_words, quoted, register_subject, register_verbs, subject_phrase
from portal.models import AuditEvent


def _principle(label: str) -> str:
    """'4.2 Title' -> '4'."""
    code = label.split(" ", 1)[0]
    head = code.split(".", 1)[0]
    return head if head.isdigit() else ""


def answers_collapsed(events: Sequence[AuditEvent]) -> str:
    """One person's run of autosaved answers: 'changed 12 answers in principle 4'."""
    answers = {e.target_id for e in events}
    principles = sorted({p for p in (_principle(e.target_label) for e in events) if p}, key=int)
    actor = actor_name(events[0])
    if len(answers) == 1:
        return gettext("%(actor)s changed the answer to %(target)s (%(n)s saves)") % {
            "actor": actor,
            "target": quoted(events[0].target_label),
            "n": len(events),
        }
    if not principles:
        return ngettext("%(actor)s changed %(n)s answer", "%(actor)s changed %(n)s answers", len(answers)) % {
            "actor": actor,
            "n": len(answers),
        }
    if len(principles) == 1:
        return ngettext(
            "%(actor)s changed %(n)s answer in principle %(principle)s",
            "%(actor)s changed %(n)s answers in principle %(principle)s",
            len(answers),
        ) % {"actor": actor, "n": len(answers), "principle": principles[0]}
    return ngettext(
        "%(actor)s changed %(n)s answer in principles %(principles)s",
        "%(actor)s changed %(n)s answers in principles %(principles)s",
        len(answers),
    ) % {"actor": actor, "n": len(answers), "principles": join_words(principles)}


def assessment_created(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label)}
    source = after.get("carried_over_from")
    if not isinstance(source, dict):
        return gettext("%(actor)s started the self-assessment %(target)s") % words
    answers = after.get("answers_carried_over", 0)
    moved = len(after.get("actions_moved") or [])
    text = ngettext(
        "%(actor)s started the self-assessment %(target)s from %(previous)s, carrying over %(n)s answer to confirm",
        "%(actor)s started the self-assessment %(target)s from %(previous)s, carrying over %(n)s answers to confirm",
        answers,
    ) % {**words, "previous": quoted(str(source.get("title", ""))), "n": answers}
    if moved:
        text += ngettext(" and %(n)s open action", " and %(n)s open actions", moved) % {"n": moved}
    return text


def answer_confirmed(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label)}
    if after.get("changed"):
        return gettext("%(actor)s changed, and so confirmed, the answer carried over to %(target)s") % words
    return gettext("%(actor)s confirmed the answer carried over to %(target)s") % words


def confirmations_collapsed(events: Sequence[AuditEvent]) -> str:
    """One person's run of confirmations: 'confirmed 6 answers carried over in principle 2'."""
    answers = {e.target_id for e in events}
    if len(answers) == 1:
        return answer_confirmed(events[0])
    principles = sorted({p for p in (_principle(e.target_label) for e in events) if p}, key=int)
    words = {"actor": actor_name(events[0]), "n": len(answers)}
    if len(principles) == 1:
        return ngettext(
            "%(actor)s confirmed %(n)s answer carried over in principle %(principle)s",
            "%(actor)s confirmed %(n)s answers carried over in principle %(principle)s",
            len(answers),
        ) % {**words, "principle": principles[0]}
    if principles:
        return ngettext(
            "%(actor)s confirmed %(n)s answer carried over in principles %(principles)s",
            "%(actor)s confirmed %(n)s answers carried over in principles %(principles)s",
            len(answers),
        ) % {**words, "principles": join_words(principles)}
    return (
        ngettext(
            "%(actor)s confirmed %(n)s answer carried over",
            "%(actor)s confirmed %(n)s answers carried over",
            len(answers),
        )
        % words
    )


def plan_review_date_changed(event: AuditEvent) -> str:
    from datetime import date

    from django.utils.formats import date_format

    after = event.after if isinstance(event.after, dict) else {}
    words = {"actor": actor_name(event), "plan": quoted(event.target_label)}
    try:
        words["date"] = date_format(date.fromisoformat(str(after.get("review_due"))), "j F Y")
    except ValueError:
        return gettext("%(actor)s changed the review date of the plan %(plan)s") % words
    return gettext("%(actor)s set the review date of the plan %(plan)s to %(date)s") % words


def plan_updated(event: AuditEvent) -> str:
    title, _sep, section = event.target_label.rpartition(": ")
    if not title:
        title, section = section, ""
    if section:
        return gettext("%(actor)s changed “%(section)s” in the plan %(plan)s") % {
            "actor": actor_name(event),
            "section": section,
            "plan": quoted(title),
        }
    return gettext("%(actor)s changed the plan %(plan)s") % {"actor": actor_name(event), "plan": quoted(title)}


def plan_amended(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    return gettext("%(actor)s started version %(version)s of the plan %(plan)s") % {
        "actor": actor_name(event),
        "version": after.get("version", "?"),
        "plan": quoted(event.target_label),
    }


def action_updated(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    before = event.before if isinstance(event.before, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label)}
    if after.get("status") != before.get("status") and after.get("status") == "done":
        return gettext("%(actor)s marked the action %(target)s as done") % words
    return gettext("%(actor)s updated the action %(target)s") % words


def changes_answered(event: AuditEvent) -> str:
    words = event.target_label.split()
    subject_type = words[-2] if len(words) >= 2 else ""
    return gettext("%(actor)s answered the change request on %(thing)s") % {
        "actor": actor_name(event),
        "thing": subject_phrase(subject_type, getattr(event, "subject_title", "") or ""),
    }


def evidence_uploaded(event: AuditEvent) -> str:
    return gettext("%(actor)s uploaded the evidence file %(target)s") % {
        "actor": actor_name(event),
        "target": quoted(event.target_label),
    }


def _survey_count(event: AuditEvent, singular: str, plural: str) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    count = int(after.get("count") or 0)
    return ngettext(singular, plural, count) % {
        "actor": actor_name(event),
        "count": count,
        "target": quoted(event.target_label),
    }


def survey_codes_printed(event: AuditEvent) -> str:
    return _survey_count(
        event,
        "%(actor)s printed %(count)d code for the workforce survey %(target)s",
        "%(actor)s printed %(count)d codes for the workforce survey %(target)s",
    )


def survey_invitations_sent(event: AuditEvent) -> str:
    return _survey_count(
        event,
        "%(actor)s emailed %(count)d invitation to the workforce survey %(target)s",
        "%(actor)s emailed %(count)d invitations to the workforce survey %(target)s",
    )


def survey_closed(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label), "n": int(after.get("responses") or 0)}
    if after.get("bound_to_plan"):
        return (
            gettext(
                "%(actor)s closed the workforce survey %(target)s after %(n)d responses: its results joined the "
                "plan's consultation record"
            )
            % words
        )
    return gettext("%(actor)s closed the workforce survey %(target)s after %(n)d responses") % words


def _technology_field(name: str) -> str:
    from django.core.exceptions import FieldDoesNotExist

    from assessments.models import TechnologySystem

    try:
        field = TechnologySystem._meta.get_field(name)
    except FieldDoesNotExist:  # a field since removed: its name in words
        return name.replace("_", " ")
    return str(getattr(field, "verbose_name", "") or name.replace("_", " "))


def system_changed(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label)}
    if not after:
        return gettext("%(actor)s changed the system %(target)s in the technology register") % words
    return gettext("%(actor)s changed the system %(target)s in the technology register: %(fields)s") % {
        **words,
        "fields": join_words([_technology_field(name) for name in after]),
    }


def _day(value: object) -> str:
    from datetime import date

    from django.utils.formats import date_format

    try:
        return date_format(date.fromisoformat(str(value)[:10]), "j F Y")
    except ValueError:
        return ""


def notice_recorded(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    before = event.before if isinstance(event.before, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label)}
    notice, met = after.get("notice_given_on"), after.get("committee_met_on")
    if met and met != before.get("committee_met_on"):
        return gettext("%(actor)s recorded that the joint technology committee met on %(target)s on %(date)s") % {
            **words,
            "date": _day(met),
        }
    if notice and notice != before.get("notice_given_on"):
        return gettext("%(actor)s recorded that notice of %(target)s was given to the representatives on %(date)s") % {
            **words,
            "date": _day(notice),
        }
    return gettext("%(actor)s cleared the notice or committee meeting dates of %(target)s") % words


def agreement_in_force(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    words = {"actor": actor_name(event), "target": quoted(event.target_label)}
    if after.get("supersedes"):
        return gettext(
            "%(actor)s gave the last signature: the new technology agreement %(target)s is in force, in place of "
            "version %(version)s"
        ) % {**words, "version": after["supersedes"]}
    return gettext("%(actor)s gave the last signature: the new technology agreement %(target)s is in force") % words


def clock_breached(event: AuditEvent) -> str:
    after = event.after if isinstance(event.after, dict) else {}
    detail = str(after.get("detail") or "").rstrip(".")
    words = {"target": quoted(event.target_label), "detail": detail}
    if detail:
        return gettext("The new technology agreement was breached on the system %(target)s: %(detail)s") % words
    return gettext("The new technology agreement was breached on the system %(target)s") % words


def register() -> None:
    register_subject(subject_type="assessment", noun=_("the self-assessment"))
    register_subject(subject_type="plan", noun=_("the plan"))
    register_subject(subject_type="survey", noun=_("the questions of the workforce survey"))
    register_subject(subject_type="agreement", noun=_("the new technology agreement"))
    register_verbs(
        group=_("Technology register"),
        verbs={
            "technology.system_registered": Verb(
                _("Registered a technology system"),
                _("%(actor)s registered the system %(target)s in the technology register"),
                label_is_title=True,
            ),
            "technology.system_changed": Verb(_("Changed a technology system"), system_changed, label_is_title=True),
            "technology.system_removed": Verb(
                _("Removed a technology system"),
                _("%(actor)s removed the system %(target)s from the technology register"),
                label_is_title=True,
            ),
            "technology.notice_recorded": Verb(
                _("Recorded notice or a committee meeting"), notice_recorded, label_is_title=True
            ),
            "technology.links_changed": Verb(
                _("Changed what a technology system is linked to"),
                _("%(actor)s changed the plans, criteria and evidence the system %(target)s is linked to"),
                label_is_title=True,
            ),
            "technology.clock_breached": Verb(
                _("Breached the new technology agreement"), clock_breached, label_is_title=True
            ),
            "technology.agreement_drafted": Verb(
                _("Drafted a new technology agreement"),
                _("%(actor)s drafted the new technology agreement %(target)s"),
                label_is_title=True,
            ),
            "technology.agreement_changed": Verb(
                _("Changed a new technology agreement"),
                _("%(actor)s changed the words of the new technology agreement %(target)s"),
                label_is_title=True,
            ),
            "technology.agreement_discarded": Verb(
                _("Discarded a draft new technology agreement"),
                _("%(actor)s discarded the draft new technology agreement %(target)s"),
                label_is_title=True,
            ),
            "technology.agreement_in_force": Verb(
                _("Put a new technology agreement in force"), agreement_in_force, label_is_title=True
            ),
        },
    )
    register_verbs(
        group=_("Workforce surveys"),
        verbs={
            "survey.drafted": Verb(
                _("Drafted a workforce survey"),
                _("%(actor)s drafted the workforce survey %(target)s"),
                label_is_title=True,
            ),
            "survey.changed": Verb(
                _("Changed a workforce survey"),
                _("%(actor)s changed the questions of the workforce survey %(target)s"),
                label_is_title=True,
            ),
            "survey.opened": Verb(
                _("Opened a workforce survey"),
                _("%(actor)s opened the workforce survey %(target)s for answers"),
                label_is_title=True,
            ),
            "survey.codes_printed": Verb(_("Printed survey codes"), survey_codes_printed, label_is_title=True),
            "survey.invitations_sent": Verb(
                _("Emailed survey invitations"), survey_invitations_sent, label_is_title=True
            ),
            "survey.closed": Verb(_("Closed a workforce survey"), survey_closed, label_is_title=True),
        },
    )
    register_verbs(
        group=_("Self-assessments"),
        verbs={
            "assessment.created": Verb(_("Started a self-assessment"), assessment_created, label_is_title=True),
            "assessment.submitted": Verb(
                _("Sent a self-assessment for workforce review"),
                _("%(actor)s sent the self-assessment %(target)s to the workforce for review"),
                label_is_title=True,
            ),
            "assessment.changes_requested": Verb(
                _("Asked for changes to a self-assessment"),
                _("%(actor)s asked for changes to the self-assessment %(target)s"),
                label_is_title=True,
            ),
            "assessment.agreed": Verb(
                _("Agreed a self-assessment"),
                _("%(actor)s gave the last signature: the self-assessment %(target)s is agreed"),
                label_is_title=True,
            ),
            "assessment.finalised": Verb(
                _("Finalised a self-assessment"),
                _("%(actor)s finalised the self-assessment %(target)s"),
                label_is_title=True,
            ),
            "response.updated": Verb(
                _("Changed an answer"),
                _("%(actor)s changed the answer to %(target)s"),
                collapse=answers_collapsed,
            ),
            "response.confirmed": Verb(
                _("Confirmed an answer carried over"), answer_confirmed, collapse=confirmations_collapsed
            ),
        },
    )
    register_verbs(
        group=_("Evidence"),
        verbs={
            "evidence.uploaded": Verb(_("Uploaded evidence"), evidence_uploaded, label_is_title=True),
            "evidence.deleted": (_("Deleted evidence"), _("%(actor)s deleted the evidence file %(target)s")),
        },
    )
    register_verbs(
        group=_("Actions"),
        verbs={
            "action.created": Verb(
                _("Added an action"), _("%(actor)s added the action %(target)s"), label_is_title=True
            ),
            "action.updated": (_("Updated an action"), action_updated),
            "action.deleted": (_("Deleted an action"), _("%(actor)s deleted the action %(target)s")),
        },
    )
    register_verbs(
        group=_("Plans"),
        verbs={
            "plan.created": Verb(_("Started a plan"), _("%(actor)s started the plan %(target)s"), label_is_title=True),
            "plan.updated": (_("Changed a plan"), plan_updated),
            "plan.meeting_added": Verb(
                _("Recorded a consultation meeting"),
                _("%(actor)s recorded a consultation meeting for the plan %(target)s"),
                label_is_title=True,
            ),
            "plan.meeting_removed": Verb(
                _("Removed a consultation meeting"),
                _("%(actor)s removed a consultation meeting from the plan %(target)s"),
                label_is_title=True,
            ),
            "eqia.updated": Verb(
                _("Updated an equality impact assessment"),
                _("%(actor)s updated the equality impact assessment of the plan %(target)s"),
                label_is_title=True,
            ),
            "plan.submitted": Verb(
                _("Sent a plan for workforce review"),
                _("%(actor)s sent the plan %(target)s to the workforce for review"),
                label_is_title=True,
            ),
            "plan.changes_requested": Verb(
                _("Asked for changes to a plan"),
                _("%(actor)s asked for changes to the plan %(target)s"),
                label_is_title=True,
            ),
            "plan.agreed": Verb(
                _("Agreed a plan"),
                _("%(actor)s gave the last signature: the plan %(target)s is agreed"),
                label_is_title=True,
            ),
            "plan.finalised": Verb(
                _("Finalised a plan"), _("%(actor)s finalised the plan %(target)s"), label_is_title=True
            ),
            "plan.amended": Verb(_("Started a new version of a plan"), plan_amended, label_is_title=True),
            "plan.review_date_changed": Verb(
                _("Changed a plan's review date"), plan_review_date_changed, label_is_title=True
            ),
        },
    )
    register_verbs(
        group=_("Comments and reviews"),
        verbs={
            "comment.added": (_("Commented"), _("%(actor)s commented on %(target)s")),
            "comment.resolved": (_("Resolved a comment"), _("%(actor)s resolved a comment on %(target)s")),
            "changes.answered": Verb(_("Answered a change request"), changes_answered, names_subject_by_id=True),
        },
    )
