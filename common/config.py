"""One TOML config, validated at start. Unknown keys are rejected with the key and file named.

Secrets come from the environment: SILVERGYM_MQTT_PASSWORD overrides uplink.password,
SILVERGYM_ACK_KEY uplink.ack_key, SILVERGYM_COLLECTOR_PASSWORD collector.password and
SILVERGYM_ACK_SECRET collector.ack_secret.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_PATHS = (Path("/etc/silvergym/silvergym.toml"), Path.home() / ".config/silvergym/silvergym.toml")


class ConfigError(Exception):
    """A config file that cannot be used; str() is the one line to show the installer."""


class FieldProblem(ValueError):
    """What is wrong with one field, found by a check that reads several (a roster's spot against
    max_people, its key against [participants]): `field` is its dotted path below the model that
    checked, so the installer's line names the field itself, not the section."""

    def __init__(self, field: str, what: str):
        super().__init__(what)
        self.field = field


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def default_runtime_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/silvergym-{os.getuid()}"
    return str(Path(base) / "silvergym")


class BusConfig(Section):
    runtime_dir: str = Field(default_factory=default_runtime_dir,
                             description="Directory for ipc:// sockets; created at start.")
    endpoints: dict[str, str] = Field(default_factory=dict, description=(
        "Publisher endpoint per service, e.g. {camera = 'tcp://10.0.0.5:5550'}. "
        "Missing services get ipc://<runtime_dir>/<service>.sock."))

    def endpoint(self, service: str) -> str:
        return self.endpoints.get(service) or f"ipc://{self.runtime_dir}/{service}.sock"

    def all_endpoints(self) -> dict[str, str]:
        from common.bus.topics import SERVICES
        return {s: self.endpoint(s) for s in SERVICES}


class CameraConfig(Section):
    source: str = Field("auto", description=(
        "'auto' (first camera, else the simulated participant), a V4L2 index or /dev/videoN path, "
        "a video file, an image file, or 'sim'."))
    width: int = Field(640, gt=0, description="Requested capture width in pixels (devices only).")
    height: int = Field(480, gt=0, description="Requested capture height in pixels (devices only).")
    fps: float = Field(30.0, gt=0, description="Frame rate for devices and still images.")
    pace: Literal["realtime", "unpaced"] = Field("realtime", description=(
        "Video files: 'realtime' plays at the file's fps; 'unpaced' sends as fast as consumers take it."))
    loop: bool = Field(True, description="Video files: start again at the end instead of stopping.")
    start_with_session: bool = Field(False, description=(
        "Video files: hold the first frame until the first session's routine starts, then play from the "
        "beginning, each frame stamped with the file's own time and sent only once the model has read the one "
        "before, so a recorded participant is scored as `silvergym score` scores the file (the demo). In group mode "
        "(a recorded class) the file does not wait for a session (its members join by following the routine, "
        "which nobody does in a held picture): it plays once the first frame shows someone, and the class's "
        "clock starts with it."))
    retry_max_s: float = Field(10.0, gt=0, description="Longest wait between reopen attempts of a lost device.")


class InferenceConfig(Section):
    model: str = Field("blazepose-full", description="Model name from the catalog (silvergym models list).")
    model_path: str = Field("", description="Run the model family from this file instead of the cache.")
    tpu_device: str = Field("", description="Edge TPU device: '', 'usb', 'pci', 'usb:0', 'pci:1'.")
    edgetpu_library: str = Field("libedgetpu.so.1", description=(
        "The Edge TPU library: a name the system's loader finds, or a path. It is only ever loaded in a child "
        "process (a crash or hang in it falls back to the CPU model)."))
    require_tpu: bool = Field(False, description="Fail (exit 3) instead of falling back to the CPU.")
    threads: int = Field(0, ge=0, le=64, description=(
        "CPU interpreter threads; 0 = auto: all cores but one, at most 4 (the camera, scoring and the TV keep "
        "a core; measured in docs/benchmarks.md)."))
    model_threads: dict[str, Annotated[int, Field(ge=1, le=64)]] = Field(default_factory=dict, description=(
        "Interpreter threads for one model, overriding `threads` for it, e.g. {\"blazepose-full\" = 3}."))
    cache_dir: str = Field("", description="Model cache; default ~/.cache/silvergym/models or $SILVERGYM_MODEL_DIR.")


    def threads_for(self, model: str, cores: int | None = None) -> int:
        """The interpreter thread count `model` runs with on a machine with `cores` cores."""
        if model in self.model_threads:
            return self.model_threads[model]
        return self.threads or auto_threads(cores)


def auto_threads(cores: int | None = None) -> int:
    """All cores but one, at most 4: an interpreter on every core makes the camera, scoring and the
    TV wait for the CPU (docs/benchmarks.md: pipeline_ratio and latency by thread count); more than
    4 threads did not pay for either model."""
    cores = cores or os.cpu_count() or 1
    return max(1, min(4, cores - 1))


class ScoringConfig(Section):
    routine: str = Field("squat", description="Bundled routine name or a routine file path.")
    program: str = Field("", description=("A program of several movements instead of one routine: a bundled or "
                                          "built program's name or a program file (docs/programs.md); '' = the "
                                          "routine alone. In a class (mode = \"group\") every member goes through it on the class's clock."))
    participant: str = Field("guest", description="Who is exercising; a key of [participants] or 'guest'.")
    lag_window_s: float = Field(1.5, ge=0, description="How far a participant may lag or lead the routine.")
    start_delay_s: float = Field(3.0, ge=0, description="Countdown before the routine starts.")
    autostart: bool = Field(True, description="Start a session as soon as a person is in view.")
    mode: Literal["one", "group"] = Field("one", description=(
        "'one': the participant in front of the TV (at home); 'group': every person in view (a senior "
        "center's class), each scored on their own, known by their spot (numbered left to right as the TV "
        "shows the class: see roster)."))
    max_people: int = Field(4, ge=1, le=8, description="Group mode: the most people followed at once.")
    roster: dict[int, str] = Field(default_factory=dict, description=(
        "Group mode: spot number -> participant key of [participants], each person at one spot. Spots are "
        "numbered left to right as the TV shows the class: the TV mirrors the camera, so 1 is the leftmost on "
        "the TV, the person furthest to their own left as the class faces the TV. The people who join as the "
        "class starts (within 2 s of the first to follow the routine) are numbered so; anyone joining later "
        "takes the next free number, and a member who leaves and comes back keeps theirs. So list the roster "
        "in the order its people stand, from their own left, and have them start together. A spot not "
        "listed is named '1번', '2번', ..."))

    @model_validator(mode="after")
    def _roster_spots_exist(self):
        for spot in sorted(self.roster):
            if not 1 <= spot <= self.max_people:
                raise FieldProblem(f"roster.{spot}", (
                    f"there is no spot {spot} in a class of scoring.max_people = {self.max_people}: number "
                    f"the roster's spots 1 to {self.max_people} (or raise scoring.max_people)"))
        return self
    fall_countdown_s: float = Field(30.0, ge=5, le=600, description=(
        "After a suspected fall the TV asks '괜찮으세요? 괜찮으시면 손을 흔들어 주세요' and waits this many seconds "
        "for a wave or the remote's OK before the carer is called; a clear hard fall calls at once."))


class RendererConfig(Section):
    display: Literal["auto", "fullscreen", "window", "headless"] = Field("auto", description=(
        "'auto' = fullscreen when a display exists, else headless."))
    width: int = Field(1280, gt=0, description="Window or headless canvas width.")
    height: int = Field(720, gt=0, description="Window or headless canvas height.")
    fps: float = Field(30.0, gt=0, description="Screen refresh rate (30: the mirror moves as smoothly as the camera).")
    locale: Literal["ko", "en"] = Field("ko", description="Language of all text on screen.")
    font: str = Field("", description="Font file with Hangul; empty = find one on the system.")
    snapshot_dir: str = Field("", description="Headless: write a PNG of the screen here every snapshot_every_s.")
    snapshot_every_s: float = Field(5.0, gt=0, description="Seconds between headless snapshots.")
    stall_ms: float = Field(0.0, ge=0, description="Testing/bench only: sleep this long per draw.")
    voice: bool = Field(True, description="Speak the countdown and hints (espeak-ng, offline).")
    volume: int = Field(80, ge=0, le=100, description="Voice volume, 0-100.")
    instructor_skeleton: bool = Field(False, description=(
        "Draw the instructor's skeleton over their video (routines built from a video)."))


class MqttConnection(Section):
    """How to reach and log in to an MQTT broker (the uplink's and the collector's)."""
    host: str = Field("127.0.0.1", description="MQTT broker host.")
    port: int = Field(1883, gt=0, lt=65536, description="MQTT broker port.")
    username: str = Field("", description="MQTT user name.")
    password: str = Field("", description="MQTT password; prefer the environment (see docs/mqtt.md).")
    tls_ca: str = Field("", description="CA file; setting it turns TLS on.")
    tls_cert: str = Field("", description="Client certificate file (optional).")
    tls_key: str = Field("", description="Client key file (optional).")
    protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT version; 3.1.1 for brokers without MQTT 5.")


class UplinkConfig(MqttConnection):
    site: str = Field("home", description="Site id in the topic silvergym/v1/<site>/<device>/...")
    device: str = Field(default_factory=lambda: os.uname().nodename, description="Device id in the topic.")
    spool_path: str = Field("", description="SQLite spool; default ~/.local/state/silvergym/spool.db.")
    spool_max_rows: int = Field(100_000, gt=0, description="Spool bound; see docs/mqtt.md for the policy.")
    health_every_s: float = Field(10.0, gt=0, description="Seconds between health messages to the broker.")
    delete_on: Literal["ack", "puback"] = Field("ack", description=(
        "When a spooled record may leave the device: 'ack' once the central collector says it stored it "
        "(end to end, survives a broker that dies before saving), 'puback' once the broker has it (for a "
        "central side without acknowledgements)."))
    resend_after_s: float = Field(30.0, gt=0, description=(
        "With delete_on = 'ack': seconds before an unacknowledged record is sent again (doubling up to "
        "10 minutes); a reconnect sends everything unacknowledged at once."))
    ack_key: str = Field("", description=(
        "This device's acknowledgement key (`silvergym ack-key` on the central server prints it): when set, an "
        "acknowledgement without the collector's signature is ignored, so no other client can delete spooled "
        "records. Prefer $SILVERGYM_ACK_KEY."))


class CollectorConfig(MqttConnection):
    """The central server's side (`silvergym collect`, `silvergym report`)."""
    client_id: str = Field("silvergym-collector", description=(
        "MQTT client id (its persistent session); each collector of a group needs its own."))
    shared_group: str = Field("silvergym", description=(
        "MQTT 5 shared-subscription group: collectors with the same group split the messages between them "
        "(several processes or machines, one PostgreSQL). Empty: a plain subscription. Ignored with "
        "protocol 3.1.1, which has no shared subscriptions."))
    db: str = Field(default_factory=lambda: str(Path.home() / ".local/share/silvergym/central.db"), description=(
        "SQLite file path, or a PostgreSQL DSN postgresql://user:pass@host/db."))
    carers: list[str] = Field(default_factory=list, description=(
        "Who is told of a fall alert: one Apprise URL per carer, e.g. mailto://user:pass@mail.example.com?to=a@b.kr "
        "(e-mail), json://host/path (a webhook), tgram://bottoken/chatid (Telegram). Each alert reaches each once. "
        "These are told of every site's falls (the central duty desk); a family or a center's staff goes in "
        "site_carers."))
    site_carers: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Carers told only of one site's falls: site name (as devices report it, uplink.site) -> Apprise URLs, "
        "e.g. {center1 = [\"mailto://...?to=staff@center1.kr\"]}. A URL listed for several sites hears of each."))
    notify_within_h: float = Field(24.0, gt=0, description=(
        "Alerts that reached the collector more than this many hours ago are not sent (stale news, e.g. to a carer "
        "added later). Counted from when the collector stored the alert, not the device's clock, so a device "
        "whose clock is behind is still heard."))
    ack_secret: str = Field("", description=(
        "Secret the collector signs each acknowledgement with (per device, see docs/mqtt.md); devices given "
        "their key (uplink.ack_key) then ignore unsigned ones. Prefer $SILVERGYM_ACK_SECRET. Empty with SQLite: a "
        "random one made once beside the database (<db>.ack-secret, mode 0600), so acks are signed by default."))


class WebConfig(Section):
    """The carers' web app on the central store (`silvergym serve`, common/central/web)."""
    listen: str = Field("127.0.0.1", description=(
        "Address to listen on. Keep 127.0.0.1 and put a TLS reverse proxy in front (docs/mqtt.md)."))
    port: int = Field(8090, ge=1, le=65535, description="TCP port to listen on.")
    hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost"], description=(
        "Host names the app answers to (the name carers type, e.g. care.example.kr); any other Host is refused."))
    secret_key: str = Field("", description=(
        "Signs sessions and CSRF tokens; the same on every instance over one database. Prefer "
        "$SILVERGYM_WEB_SECRET. Empty: a random key kept beside an SQLite store (one instance only)."))
    behind_tls: bool = Field(False, description=(
        "True when a TLS reverse proxy is in front: cookies are Secure, HSTS is sent, and the proxy's "
        "X-Forwarded-Proto and X-Forwarded-For are trusted (one proxy)."))
    session_hours: float = Field(8.0, gt=0, le=24 * 30, description=(
        "A login lasts this long (and ends when the browser closes)."))
    login_failures: int = Field(5, ge=1, le=100, description=(
        "Wrong passwords in a row for one account from one address before that account is blocked there."))
    address_login_failures: int = Field(50, ge=1, le=10000, description=(
        "Wrong passwords from one address, over all accounts, before that address is blocked for every "
        "account: far above login_failures, so one family member mistyping at a senior center behind "
        "one public address does not lock out everyone there."))
    lockout_minutes: float = Field(15.0, gt=0, description="How long logging in stays blocked after that.")
    threads: int = Field(8, ge=1, le=64, description="Requests served at once by one instance.")
    time_zone: str = Field("Asia/Seoul", description="Times on the pages are shown in this zone, with its name.")
    site_time_zones: dict[str, str] = Field(default_factory=dict, description=(
        "A site elsewhere: site -> IANA zone (e.g. busan = \"Asia/Seoul\", la = \"America/Los_Angeles\"); that "
        "site's times are shown in its own zone, the rest in time_zone."))

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone_name(value)

    @field_validator("site_time_zones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        return {site: _zone_name(zone) for site, zone in value.items()}


def _zone_name(value: str) -> str:
    """An IANA zone this machine knows (a typo would otherwise show every time in UTC or fail later)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a time zone this machine knows (an IANA name such as Asia/Seoul)") from None
    return value


class SupervisorConfig(Section):
    services: list[str] = Field(default_factory=lambda: ["camera", "inference", "scoring", "renderer", "uplink"],
                                description="Services `silvergym run` starts.")
    restart_backoff_max_s: float = Field(10.0, gt=0, description="Longest wait before restarting a crashed service.")
    hung_after_s: float = Field(15.0, gt=0, description="A live service silent on the bus this long is restarted.")
    start_within_s: float = Field(60.0, gt=0, description=(
        "A service that has sent no health this long after it started is restarted. Longer than hung_after_s: "
        "opening a model on a busy Pi takes longer than a heartbeat."))


class Participant(Section):
    name: str = Field(description="Name shown on the TV.")
    tolerance_scale: float = Field(1.0, gt=0, description="Multiplies every joint tolerance ('easy mode' > 1).")
    seated: bool = Field(False, description="Use the seated variant of routines when there is one.")
    age: int | None = Field(None, ge=40, le=120, description=(
        "Age in years, for the Senior Fitness Test's norms (chair stand, arm curl); unset: the 70-74 "
        "norms are used and the result says so."))
    sex: Literal["female", "male", ""] = Field("", description=(
        "'female' or 'male', for the Senior Fitness Test's norms; empty: the women's norms are used "
        "and the result says so."))


class Config(Section):
    bus: BusConfig = Field(default_factory=BusConfig, description="Message bus endpoints.")
    camera: CameraConfig = Field(default_factory=CameraConfig, description="Camera service.")
    inference: InferenceConfig = Field(default_factory=InferenceConfig, description="Pose inference service.")
    scoring: ScoringConfig = Field(default_factory=ScoringConfig, description="Scoring service.")
    renderer: RendererConfig = Field(default_factory=RendererConfig, description="TV renderer.")
    uplink: UplinkConfig = Field(default_factory=UplinkConfig, description="MQTT uplink.")
    supervisor: SupervisorConfig = Field(default_factory=SupervisorConfig, description="silvergym run.")
    collector: CollectorConfig = Field(default_factory=CollectorConfig, description="Central collector and reports.")
    web: WebConfig = Field(default_factory=WebConfig, description="The carers' web app (silvergym serve).")
    participants: dict[str, Participant] = Field(default_factory=dict, description="Known participants by key.")

    @model_validator(mode="after")
    def _roster_names_participants(self):
        """A roster's spot names a participant of [participants] (their name on the TV, their
        tolerance and norms), each at one spot: a typo would silently score a stranger."""
        known = ", ".join(sorted(self.participants)) or "none yet"
        where: dict[str, int] = {}
        for spot, key in sorted(self.scoring.roster.items()):
            if key not in self.participants:
                raise FieldProblem(f"scoring.roster.{spot}", (
                    f"{key!r} is not a key of [participants] (known: {known}): add [participants.{key}] with "
                    f"their name, or put a known key at spot {spot}"))
            if key in where:
                raise FieldProblem(f"scoring.roster.{spot}", (
                    f"{key!r} is at spot {where[key]} too: one person has one spot; remove one of the two"))
            where[key] = spot
        return self


def ignored_settings(cfg: Config) -> list[str]:
    """Settings the config gives that its mode does not use, one line each for the installer (the
    scoring service's log as it starts, `silvergym doctor`, `silvergym score`): a roster in
    one-person mode was otherwise ignored without a word."""
    if cfg.scoring.mode == "one" and cfg.scoring.roster:
        people = ", ".join(f"{spot}: {key}" for spot, key in sorted(cfg.scoring.roster.items()))
        return [f"scoring.roster ({people}) is not used in one-person mode (scoring.mode = \"one\", who exercises "
                f"is scoring.participant = {cfg.scoring.participant!r}): for a class set scoring.mode = \"group\", "
                "else remove the roster"]
    return []


def where_read(path: str | Path | None) -> str:
    """The config file load(path) reads, in the words of a line the installer reads."""
    found = path or next((p for p in DEFAULT_PATHS if p.exists()), None)
    return str(found) if found else "the built-in defaults"


def mqtt_client(conn: MqttConnection, client_id: str):
    """A paho MQTT 5 client with conn's login and TLS applied (not yet connected)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    version = mqtt.MQTTv5 if conn.protocol == "5" else mqtt.MQTTv311
    # 3.1.1 keeps a persistent session with clean_session=False (set here; MQTT 5 sets it on connect).
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version,
                         **({} if conn.protocol == "5" else {"clean_session": False}))
    if conn.username:
        client.username_pw_set(conn.username, conn.password or None)
    if conn.tls_ca:
        client.tls_set(ca_certs=conn.tls_ca, certfile=conn.tls_cert or None, keyfile=conn.tls_key or None)
    return client


SESSION_EXPIRY_S = 7 * 86400


def silent_broker(conn: MqttConnection) -> str:
    """What to say when the port took the TCP connection but never answered MQTT's CONNECT
    (paho then drops it after the keepalive and says only "Normal disconnection")."""
    tls = "" if conn.tls_ca else "; a TLS port such as 8883 also needs tls_ca set"
    return (f"{conn.host}:{conn.port} took the connection but never answered as an MQTT broker: check the port "
            f"(Mosquitto's plain port is 1883{tls})")


def mqtt_connect_persistent(client, conn: MqttConnection) -> None:
    """Connect in the background with an MQTT 5 persistent session: the broker keeps our
    subscriptions and unacknowledged QoS 1 messages for a week while we are away."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    if conn.protocol == "5":
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        client.connect_async(conn.host, conn.port, keepalive=30, clean_start=False, properties=props)
    else:
        client.connect_async(conn.host, conn.port, keepalive=30)
    client.loop_start()


def load(path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Read, merge overrides (dotted CLI flags already nested) and validate."""
    raw: dict = {}
    where = "built-in defaults"
    if path is None:
        path = next((p for p in DEFAULT_PATHS if p.exists()), None)
    if path is not None:
        where = str(path)
        try:
            # utf-8-sig: Windows Notepad's UTF-8 starts with a byte-order mark, which TOML rejects.
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ConfigError(f"config file {where} does not exist") from None
        except IsADirectoryError:
            raise ConfigError(f"config file {where} is a folder; give the .toml file") from None
        except UnicodeDecodeError:
            raise ConfigError(f"config file {where} is not UTF-8 text (a Korean Windows editor saves CP949): "
                              "save it as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {where} is not valid TOML: {exc}") from None
    merged = merge(raw, overrides or {})
    for section, key, variable in (("uplink", "password", "SILVERGYM_MQTT_PASSWORD"),
                                   ("uplink", "ack_key", "SILVERGYM_ACK_KEY"),
                                   ("collector", "password", "SILVERGYM_COLLECTOR_PASSWORD"),
                                   ("collector", "ack_secret", "SILVERGYM_ACK_SECRET")):
        if os.environ.get(variable):
            merged.setdefault(section, {})[key] = os.environ[variable]
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        problem = (err.get("ctx") or {}).get("error")
        if isinstance(problem, FieldProblem):  # a check across fields names the field itself
            loc += problem.field.split(".")
            reason = str(problem)
        key = ".".join(loc)
        if _has_key(overrides or {}, loc):
            where = "--set"
        raise ConfigError(f"config {where}: {key}: {reason}") from None


def _has_key(tree: dict, path: list[str]) -> bool:
    """Whether the nested dict holds `path` (where a bad key came from: a --set or the file)."""
    node = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out

