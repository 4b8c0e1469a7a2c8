"""The headers SES reads (and removes) on a message sent over its SMTP interface: which
configuration set's event destinations and rules apply, and which tenant's reputation it counts to.
https://docs.aws.amazon.com/ses/latest/dg/using-configuration-sets-in-email.html"""

CONFIGURATION_SET_HEADER = "X-SES-CONFIGURATION-SET"
TENANT_HEADER = "X-SES-TENANT"
