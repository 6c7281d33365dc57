"""People and the communities they belong to: users, brands, communities, memberships, pickup points."""

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from .phones import mask_phone


class UserManager(DjangoUserManager):
    """Staff sign in with username and password; members with a phone number and a one-time code."""

    def create_user(self, username=None, email=None, password=None, **extra_fields):
        user = self.model(username=username or None, email=email or "", **extra_fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, username=None, email=None, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True, role=User.Role.OPERATOR)
        return self.create_user(username, email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who signs in. ``role`` is the brand-wide role; leader and KOC are per community."""

    class Role(models.TextChoices):
        OPERATOR = "operator", _("Operator")
        HOST = "host", _("Host")
        ASSISTANT = "assistant", _("Assistant")
        MEMBER = "member", _("Member")

    username = models.CharField(_("username"), max_length=150, unique=True, null=True, blank=True)
    phone = models.CharField(
        _("phone"), max_length=20, unique=True, null=True, blank=True, help_text=_("E.164, e.g. +8613812345678")
    )
    nickname = models.CharField(_("nickname"), max_length=64, blank=True)
    email = models.EmailField(_("email"), blank=True)
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_staff = models.BooleanField(_("admin site access"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    privacy_consent_at = models.DateTimeField(_("privacy notice accepted at"), null=True, blank=True)
    # The version of the privacy notice (settings.PRIVACY_NOTICE_VERSION) last accepted; each acceptance is a
    # ConsentRecord. A member whose version is older is asked again on their next visit.
    privacy_notice_version = models.CharField(_("privacy notice version accepted"), max_length=32, blank=True)
    # Raised by "sign out everywhere" (and by deletion): every session signed in before it stops working.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)
    # The brand whose console a staff user (operator, host, assistant) works in: they see that brand's
    # data only. Empty: the installation's own staff, who see every brand (the usual one-brand install).
    brand = models.ForeignKey(
        "community.Brand",
        verbose_name=_("brand"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(username__isnull=False) | Q(phone__isnull=False),
                name="user_has_username_or_phone",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.nickname or self.username or self.masked_phone

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def _get_session_auth_hash(self, secret=None):
        """Django checks this hash, kept in every session, on each request: a session whose hash no longer
        matches is signed out. Besides the password it covers ``session_epoch``, so raising the epoch ends
        every session of the account on every device (``privacy``'s "sign out everywhere"). Epoch 0 gives
        Django's own hash, so existing sessions survive the upgrade."""
        base = super()._get_session_auth_hash(secret=secret)
        if not self.session_epoch:
            return base
        return salted_hmac(
            "groupbuy.User.session_epoch", f"{base}:{self.session_epoch}", secret=secret, algorithm="sha256"
        ).hexdigest()

    # The roles of staff accounts (the console and the host panel); the rest are members.
    STAFF_ROLES = (Role.OPERATOR, Role.HOST, Role.ASSISTANT)

    @property
    def is_operator(self) -> bool:
        return self.is_active and (self.role == self.Role.OPERATOR or self.is_superuser)

    @property
    def is_host(self) -> bool:
        return self.is_active and self.role in (self.Role.HOST, self.Role.ASSISTANT)


class Brand(models.Model):
    """The operator's brand (品牌), e.g. 源味集. One installation usually runs one brand."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    slogan = models.CharField(_("slogan"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return self.name


class Community(models.Model):
    """A community (社群), usually mirrored by one WeChat group."""

    class JoinGate(models.TextChoices):
        OPEN = "open", _("Open")
        QUESTIONNAIRE = "questionnaire", _("Questionnaire")
        INVITATION = "invitation", _("Invitation only")

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="communities")
    name = models.CharField(_("name"), max_length=64)
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    positioning = models.TextField(_("positioning and values"), blank=True)
    # WeChat groups stop at 500 members; the operator is warned as the community nears it.
    capacity = models.PositiveIntegerField(_("capacity"), default=500)
    join_gate = models.CharField(_("join gate"), max_length=16, choices=JoinGate.choices, default=JoinGate.OPEN)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("community")
        verbose_name_plural = _("communities")
        constraints = [models.UniqueConstraint(fields=["brand", "name"], name="community_unique_name_per_brand")]

    def __str__(self) -> str:
        return self.name


class PickupPoint(models.Model):
    """A pickup point (自提点) run by a leader, where members collect their orders."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="pickup_points")
    name = models.CharField(_("name"), max_length=64)
    address = models.CharField(_("address"), max_length=200)
    opening_hours = models.CharField(_("opening hours"), max_length=100, blank=True)
    leader = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="led_pickup_points")
    capacity = models.PositiveIntegerField(_("daily capacity (orders)"), default=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("pickup point")
        verbose_name_plural = _("pickup points")
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="pickup_point_unique_name_per_community")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in one community, with their community role (leader 团长, KOC or member)."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        KOC = "koc", _("KOC")
        LEADER = "leader", _("Leader")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending review")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        LEFT = "left", _("Left")
        REMOVED = "removed", _("Removed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # The member who brought this one in (裂变); together these rows form the referral tree.
    invited_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="referred_memberships"
    )
    default_pickup_point = models.ForeignKey(
        PickupPoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    joined_at = models.DateTimeField(_("joined at"), default=timezone.now)
    last_active_at = models.DateTimeField(_("last active at"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["user", "community"], name="membership_unique_user_community")]
        indexes = [models.Index(fields=["community", "status", "role"])]

    def __str__(self) -> str:
        return f"{self.user} @ {self.community}"


class PhoneCode(models.Model):
    """A one-time sign-in code (短信验证码) sent to a phone. Only a hash of the code is stored.

    The newest code for a phone supersedes older ones; a code works once, for five minutes.
    """

    phone = models.CharField(_("phone"), max_length=20, help_text=_("E.164, e.g. +8613812345678"))
    code_hash = models.CharField(_("code hash"), max_length=128)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)

    class Meta:
        verbose_name = _("phone sign-in code")
        verbose_name_plural = _("phone sign-in codes")
        indexes = [models.Index(fields=["phone", "-created_at"])]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} @ {self.created_at:%Y-%m-%d %H:%M}"


class Questionnaire(models.Model):
    """The entry questionnaire (入群问卷) of a community whose join gate is ``questionnaire``."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="questionnaire")
    intro = models.TextField(_("introduction"), blank=True)
    # Applications scoring at least this many points are approved at once; the rest wait for review.
    threshold = models.PositiveIntegerField(_("auto-approve threshold (points)"), default=0)

    class Meta:
        verbose_name = _("questionnaire")
        verbose_name_plural = _("questionnaires")

    def __str__(self) -> str:
        return str(self.community)


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        TEXT = "text", _("Short text")

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.SINGLE)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_required = models.BooleanField(_("required"), default=True)
    # A short-text answer of at least this many characters earns ``text_points`` (0 = no points).
    text_min_length = models.PositiveSmallIntegerField(_("minimum length for points"), default=0)
    text_points = models.PositiveSmallIntegerField(_("points for a full answer"), default=0)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(_("choice"), max_length=200)
    score = models.IntegerField(_("points"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text


class Application(models.Model):
    """A request to join a questionnaire-gated community, with the answers and their score."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="applications")
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="applications")
    # {"<question pk>": [choice pks] or "text"}
    answers = models.JSONField(_("answers"), default=dict)
    score = models.IntegerField(_("score"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("applied at"), default=timezone.now)
    reviewed_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "community"],
                condition=Q(status="pending"),
                name="application_one_open_per_user_community",
            )
        ]
        indexes = [models.Index(fields=["community", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user} → {self.community}"


class Invitation(models.Model):
    """An invitation code (邀请码) and link. Members, KOCs and leaders each have a personal one."""

    code = models.CharField(_("code"), max_length=16, unique=True)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="invitations")
    inviter = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    is_personal = models.BooleanField(_("personal"), default=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    max_uses = models.PositiveIntegerField(_("maximum uses"), null=True, blank=True, help_text=_("Empty: no limit"))
    uses = models.PositiveIntegerField(_("uses"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        constraints = [
            models.UniqueConstraint(
                fields=["community", "inviter"],
                condition=Q(is_personal=True),
                name="invitation_one_personal_per_member",
            ),
            models.CheckConstraint(
                condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")), name="invitation_uses_within_max"
            ),
        ]

    def __str__(self) -> str:
        return self.code


# --- Daily rhythm (社群日常节奏): columns, scheduled posts, the community feed ----------------------------------


class Column(models.Model):
    """A recurring column (固定栏目) of a community, e.g. 周一农场日: on these weekdays, at this time."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="columns")
    name = models.CharField(_("name"), max_length=32)
    # ISO weekdays, 1 = Monday … 7 = Sunday. A list (not an ArrayField) so the SQLite default works too.
    weekdays = models.JSONField(_("weekdays"), default=list)
    time_of_day = models.TimeField(_("time of day"))
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("column")
        verbose_name_plural = _("columns")
        ordering = ["time_of_day", "name"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="column_unique_name_per_community")]

    def __str__(self) -> str:
        return self.name

    @property
    def tag(self) -> str:
        return f"【{self.name}】"

    @property
    def hue(self) -> int:
        """Which of the calendar's six colours marks this column."""
        return (self.pk or 0) % 6

    @property
    def weekday_numbers(self) -> list[int]:
        return [int(d) for d in self.weekdays]


class Post(models.Model):
    """A post for the community feed, written ahead and published at ``scheduled_at`` by the scheduler."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Waiting to publish")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="posts")
    column = models.ForeignKey(Column, on_delete=models.SET_NULL, null=True, blank=True, related_name="posts")
    author = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(_("title"), max_length=64)
    text = models.TextField(_("text"))
    scheduled_at = models.DateTimeField(_("scheduled for"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # What the leader pastes into the WeChat group (column tag + text); the share link is added per leader.
    leader_copy = models.TextField(_("copy for the WeChat group"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [
            models.Index(fields=["status", "scheduled_at"]),
            models.Index(fields=["community", "scheduled_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False), name="post_published_has_time"
            )
        ]

    def __str__(self) -> str:
        return self.title


class PostImage(models.Model):
    """A picture of a post, stored shrunk (≤ 1600 px) and without EXIF, so no phone GPS leaks to the group."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("image"), upload_to="posts/")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("post image")
        verbose_name_plural = _("post images")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.image.name


class FeedItem(models.Model):
    """One entry of a community's feed (社群动态): a published post, an opened jielong, a live.

    ``source_key`` names what the entry is about ("community.post:7", "jielong.campaign:42"); it is
    unique per community, so publishing the same thing twice (a retried task, a redelivered event)
    leaves one entry.
    """

    class Kind(models.TextChoices):
        POST = "post", _("Column post")
        CAMPAIGN = "campaign", _("Jielong")
        LIVE = "live", _("Live preview")
        REVIEW = "review", _("Review")  # 晒单, from the feedback app

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="feed_items")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    source_key = models.CharField(_("source"), max_length=64)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"), blank=True)
    url = models.CharField(_("link"), max_length=300)
    image_url = models.CharField(_("image link"), max_length=300, blank=True)
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        verbose_name = _("feed item")
        verbose_name_plural = _("feed items")
        constraints = [
            models.UniqueConstraint(fields=["community", "source_key"], name="feed_item_unique_source_per_community")
        ]
        indexes = [models.Index(fields=["community", "-published_at"])]

    def __str__(self) -> str:
        return self.title


class Flag(models.Model):
    """A person flagged for refund abuse (售后黑名单) across all of a brand's communities.

    A flagged person still sees every page but cannot join a jielong or open an after-sales request;
    they are told so in neutral words. Each flag is one row of history: it is active until lifted, and
    a person has at most one active flag per brand (the partial unique constraint, which is also the
    index the join function's EXISTS reads). ``evidence`` is the after-sales record the operator saw
    when flagging (refund rate, amounts, repeated reasons), kept as it was then.
    """

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="flags")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="flags")
    reason = models.CharField(_("reason"), max_length=500)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    flagged_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    flagged_at = models.DateTimeField(_("flagged at"))
    lifted_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.CharField(_("reason for lifting"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("flag")
        verbose_name_plural = _("flags")
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "user"], condition=Q(lifted_at__isnull=True), name="flag_one_active_per_person"
            ),
            models.CheckConstraint(
                condition=Q(lifted_at__isnull=True) | Q(lifted_by__isnull=False), name="flag_lifted_by_someone"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.brand}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class FlagLogEntry(models.Model):
    """One line of the flag log: who flagged or unflagged whom, when and why. Append-only."""

    class Action(models.TextChoices):
        FLAGGED = "flagged", _("Flagged")
        UNFLAGGED = "unflagged", _("Unflagged")

    flag = models.ForeignKey(Flag, on_delete=models.PROTECT, related_name="log")
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=500)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("flag log entry")
        verbose_name_plural = _("flag log entries")
        indexes = [models.Index(fields=["brand", "-at"], name="flag_log_brand_at")]

    def __str__(self) -> str:
        return f"{self.action} {self.user} @ {self.brand}"


class ConsentRecord(models.Model):
    """One acceptance of the privacy notice (隐私政策): who accepted which version, when, and where (at sign-in,
    or on the notice shown again after a new version). Append-only; ``User.privacy_notice_version`` is the
    latest one."""

    class Source(models.TextChoices):
        SIGNIN = "signin", _("At sign-in")
        RENEWAL = "renewal", _("New version accepted")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    version = models.CharField(_("notice version"), max_length=32)
    source = models.CharField(_("where"), max_length=16, choices=Source.choices)
    consented_at = models.DateTimeField(_("accepted at"))

    class Meta:
        verbose_name = _("privacy consent")
        verbose_name_plural = _("privacy consents")
        ordering = ["-consented_at", "-pk"]
        indexes = [models.Index(fields=["user", "-consented_at"], name="consent_user_at")]

    def __str__(self) -> str:
        return f"{self.user_id} v{self.version} @ {self.consented_at:%Y-%m-%d %H:%M}"
