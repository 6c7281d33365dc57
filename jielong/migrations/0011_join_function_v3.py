from django.db import migrations

from jielong.join.install import install


class Migration(migrations.Migration):
    """jielong_join version 3: version 2 plus the refund-abuse blacklist (community.Flag): a person
    flagged in the campaign's brand is refused ('not_available') and nothing changes."""

    dependencies = [("jielong", "0010_ledger"), ("community", "0007_refund_abuse_flags")]

    operations = [migrations.RunPython(install("jielong_join_v3.sql"), install("jielong_join_v2.sql"))]
