from django.db import migrations

from jielong.join.install import install


class Migration(migrations.Migration):
    """jielong_join version 4: version 3 with the lookup of a request's earlier order as two unique-index
    probes (its idempotency key, then the member's live order), which any cached plan serves, instead of
    one OR that a generic plan answered by scanning the campaign's orders."""

    dependencies = [("jielong", "0016_order_perk_places")]

    operations = [migrations.RunPython(install("jielong_join_v4.sql"), install("jielong_join_v3.sql"))]
