"""Every sign-in, failed sign-in and sign-out goes into the audit trail."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.access import audit
from accounts.models import AuditEvent


@receiver(user_logged_in, dispatch_uid="audit-sign-in")
def audit_sign_in(sender, request, user, **kwargs):
    audit(user, None, AuditEvent.Action.SIGN_IN, "signed in")


@receiver(user_login_failed, dispatch_uid="audit-sign-in-failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    audit(
        None,
        None,
        AuditEvent.Action.SIGN_IN,
        "sign-in refused",
        outcome=AuditEvent.Outcome.FAILED,
        username=str(credentials.get("username", "")),
    )


@receiver(user_logged_out, dispatch_uid="audit-sign-out")
def audit_sign_out(sender, request, user, **kwargs):
    if user is not None:
        audit(user, None, AuditEvent.Action.SIGN_OUT, "signed out")
