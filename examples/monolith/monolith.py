"""The reference monolith: the kind of FastAPI + SQLAlchemy application that
Lattice replaces, kept small but real. It is test infrastructure and an
example for the migration kit (docs/migration.md), not part of Lattice.

Users carry passlib hashes of two generations (pbkdf2_sha256 from its early
days, bcrypt since); logins are HS256 JWTs from PyJWT, each backed by a
session row so logout revokes it; resources have JSON metadata and tags;
files are rows pointing at files on disk; an upload is "processed" by a
background job that counts its words.

Its routes are shaped like Lattice's where the data is the same (/v1/users,
/v1/sessions, /v1/resources, files under a resource), and differ where
monoliths do: integer ids, `full_name` and `is_admin` rather than
`display_name` and `role`, page-numbered lists, errors as {"detail": ...}.

Settings (environment):
  MONOLITH_DATABASE_URL   postgresql://... (its own database)
  MONOLITH_FILES_DIR      where uploaded files live
  MONOLITH_SECRET_FILE    the HS256 session secret, one line
  MONOLITH_MAX_UPLOAD     bytes (default 10 MiB)
  MONOLITH_INTROSPECTION_SECRET_FILE
                          a bearer token that POST /v1/sessions/introspect
                          (RFC 7662) requires; unset, that route is off
  MONOLITH_CHANGE_FEED_URL, MONOLITH_CHANGE_FEED_TOKEN_FILE
                          during a migration, where each resource write is
                          sent (Lattice's /v1/legacy-resources) and the
                          bearer token it takes; unset, nothing is sent
"""

import datetime as dt
import hashlib
import hmac
import os
import secrets
import urllib.parse
import uuid
from typing import Dict, List, Optional

import jwt
from fastapi import BackgroundTasks, Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from passlib.context import CryptContext
from pydantic import BaseModel, Field
from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, String, Text,
                        create_engine, func, or_, select)
from sqlalchemy.orm import Session, declarative_base, relationship, sessionmaker

Base = declarative_base()

# Old accounts keep pbkdf2_sha256; new ones get bcrypt. Both verify.
PASSWORDS = CryptContext(schemes=["bcrypt", "pbkdf2_sha256"], default="bcrypt")
SESSION_HOURS = 12


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    email = Column(String(320), nullable=False, unique=True)
    full_name = Column(String(200), nullable=False)
    password_hash = Column(String(200), nullable=False)
    is_admin = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now)


class LoginSession(Base):
    __tablename__ = "sessions"
    id = Column(String(36), primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    revoked = Column(Boolean, nullable=False, default=False)


class Resource(Base):
    __tablename__ = "resources"
    id = Column(Integer, primary_key=True)
    owner_id = Column(Integer, ForeignKey("users.id"), nullable=False, index=True)
    title = Column(String(500), nullable=False)
    body = Column(Text, nullable=False, default="")
    visibility = Column(String(20), nullable=False, default="private")
    tags = Column(JSON, nullable=False, default=list)
    meta = Column("metadata", JSON, nullable=False, default=dict)
    version = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=now)
    files = relationship("StoredFile", back_populates="resource", cascade="all, delete-orphan")


class StoredFile(Base):
    __tablename__ = "files"
    id = Column(Integer, primary_key=True)
    resource_id = Column(Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(255), nullable=False)
    content_type = Column(String(200), nullable=False)
    size = Column(BigInteger, nullable=False)
    sha256 = Column(String(64), nullable=False)
    path = Column(String(1000), nullable=False)  # relative to MONOLITH_FILES_DIR
    created_at = Column(DateTime(timezone=True), nullable=False, default=now)
    resource = relationship("Resource", back_populates="files")


class Job(Base):
    __tablename__ = "jobs"
    id = Column(Integer, primary_key=True)
    file_id = Column(Integer, ForeignKey("files.id", ondelete="CASCADE"), nullable=False)
    state = Column(String(20), nullable=False, default="queued")
    word_count = Column(Integer)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=now)


def settings():
    with open(os.environ["MONOLITH_SECRET_FILE"], encoding="utf-8") as f:
        secret = f.read().strip()
    return {
        "database_url": os.environ["MONOLITH_DATABASE_URL"],
        "files_dir": os.environ["MONOLITH_FILES_DIR"],
        "secret": secret,
        "max_upload": int(os.environ.get("MONOLITH_MAX_UPLOAD", str(10 << 20))),
        "introspection_secret": read_optional(os.environ.get("MONOLITH_INTROSPECTION_SECRET_FILE")),
        "feed_url": os.environ.get("MONOLITH_CHANGE_FEED_URL", "").rstrip("/"),
        "feed_token": read_optional(os.environ.get("MONOLITH_CHANGE_FEED_TOKEN_FILE")),
    }


def read_optional(path):
    if not path:
        return None
    with open(path, encoding="utf-8") as f:
        return f.read().strip() or None


def ensure_database(url: str):
    """Creates the monolith's own database on its server when missing."""
    import psycopg2
    from psycopg2 import sql
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = psycopg2.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname="postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(u.database)))
    finally:
        conn.close()


def create_app(cfg=None) -> FastAPI:
    cfg = cfg or settings()
    ensure_database(cfg["database_url"])
    engine = create_engine(cfg["database_url"], pool_pre_ping=True, future=True)
    Base.metadata.create_all(engine)
    Sessions = sessionmaker(engine, expire_on_commit=False, future=True)
    os.makedirs(cfg["files_dir"], exist_ok=True)
    app = FastAPI(title="monolith")

    def db():
        with Sessions() as s:
            yield s

    def problem(status: int, detail: str):
        raise HTTPException(status_code=status, detail=detail)

    def current_user(authorization: Optional[str] = Header(None), s: Session = Depends(db)) -> User:
        if not authorization or not authorization.lower().startswith("bearer "):
            problem(401, "not authenticated")
        try:
            claims = jwt.decode(authorization[7:], cfg["secret"], algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]})
        except jwt.PyJWTError:
            problem(401, "invalid token")
        row = s.get(LoginSession, claims["sid"])
        if row is None or row.revoked or str(row.user_id) != claims["sub"]:
            problem(401, "session ended")
        user = s.get(User, row.user_id)
        if user is None:
            problem(401, "session ended")
        return user

    def optional_user(authorization: Optional[str] = Header(None), s: Session = Depends(db)) -> Optional[User]:
        return current_user(authorization, s) if authorization else None

    def user_json(u: User):
        return {"id": u.id, "email": u.email, "full_name": u.full_name, "is_admin": u.is_admin,
                "created_at": u.created_at.isoformat()}

    def feed(background: BackgroundTasks, rid: int, state):
        """During a migration, tells Lattice of a committed resource write (None: deleted)."""
        if cfg.get("feed_url"):
            background.add_task(send_change, cfg["feed_url"], cfg.get("feed_token"), rid, state)

    def resource_json(r: Resource):
        return {"id": r.id, "owner_id": r.owner_id, "title": r.title, "body": r.body, "visibility": r.visibility,
                "tags": r.tags, "metadata": r.meta, "version": r.version,
                "created_at": r.created_at.isoformat(), "updated_at": r.updated_at.isoformat()}

    def file_json(f: StoredFile):
        return {"id": f.id, "resource_id": f.resource_id, "name": f.name, "content_type": f.content_type,
                "size": f.size, "sha256": f.sha256, "created_at": f.created_at.isoformat()}

    def readable(r: Optional[Resource], u: Optional[User]) -> bool:
        if r is None:
            return False
        if r.visibility == "public" or (u is not None and (u.is_admin or r.owner_id == u.id)):
            return True
        return r.visibility == "internal" and u is not None

    def owned(s: Session, rid: int, u: User) -> Resource:
        r = s.get(Resource, rid)
        if not readable(r, u):
            problem(404, "resource not found")
        if r.owner_id != u.id and not u.is_admin:
            problem(403, "only the owner may change this resource")
        return r

    class SignUp(BaseModel):
        email: str = Field(..., max_length=320)
        password: str = Field(..., min_length=8, max_length=200)
        full_name: str = Field(..., min_length=1, max_length=200)

    class Login(BaseModel):
        email: str = Field(..., max_length=320)
        password: str = Field(..., max_length=200)

    class ResourceIn(BaseModel):
        title: str = Field(..., min_length=1, max_length=500)
        body: str = Field("", max_length=1 << 20)
        visibility: str = Field("private", regex="^(private|internal|public)$")
        tags: List[str] = Field(default_factory=list, max_items=50)
        metadata: Dict[str, str] = Field(default_factory=dict)

    class ResourcePatch(BaseModel):
        title: Optional[str] = Field(None, min_length=1, max_length=500)
        body: Optional[str] = Field(None, max_length=1 << 20)
        visibility: Optional[str] = Field(None, regex="^(private|internal|public)$")
        tags: Optional[List[str]] = Field(None, max_items=50)
        metadata: Optional[Dict[str, str]] = None

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/v1/users", status_code=201)
    def sign_up(body: SignUp, s: Session = Depends(db)):
        email = body.email.strip().lower()
        if "@" not in email:
            problem(422, "invalid email")
        if s.scalar(select(User).where(User.email == email)) is not None:
            problem(409, "email already registered")
        u = User(email=email, full_name=body.full_name, password_hash=PASSWORDS.hash(body.password))
        s.add(u)
        s.commit()
        return user_json(u)

    @app.post("/v1/sessions", status_code=201)
    def login(body: Login, s: Session = Depends(db)):
        u = s.scalar(select(User).where(User.email == body.email.strip().lower()))
        if u is None or not PASSWORDS.verify(body.password, u.password_hash):
            problem(401, "wrong email or password")
        return {"access_token": issue_session(s, cfg["secret"], u), "token_type": "bearer"}

    @app.delete("/v1/sessions/current", status_code=204)
    def logout(authorization: Optional[str] = Header(None), u: User = Depends(current_user), s: Session = Depends(db)):
        sid = jwt.decode(authorization[7:], options={"verify_signature": False})["sid"]
        row = s.get(LoginSession, sid)
        row.revoked = True
        s.commit()
        return Response(status_code=204)

    @app.post("/v1/sessions/introspect")
    async def introspect(request: Request, authorization: Optional[str] = Header(None), s: Session = Depends(db)):
        """RFC 7662 for the migration: is this a live session, and whose?"""
        want = cfg.get("introspection_secret")
        if not want:
            problem(404, "not found")
        if not authorization or not hmac.compare_digest(authorization.encode(), ("Bearer " + want).encode()):
            problem(401, "not authenticated")
        body = await request.body()
        if len(body) > 16384:
            problem(413, "too large")
        token = urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
        try:
            claims = jwt.decode(token, cfg["secret"], algorithms=["HS256"], options={"require": ["exp", "sub", "sid"]})
        except jwt.PyJWTError:
            return {"active": False}
        row = s.get(LoginSession, claims["sid"])
        if row is None or row.revoked or str(row.user_id) != claims["sub"]:
            return {"active": False}
        return {"active": True, "sub": claims["sub"], "exp": claims["exp"], "token_type": "bearer"}

    @app.get("/v1/users/me")
    def me(u: User = Depends(current_user)):
        return user_json(u)

    @app.get("/v1/resources")
    def list_resources(page: int = Query(1, ge=1, le=10000), per_page: int = Query(20, ge=1, le=100),
                       limit: Optional[int] = Query(None, ge=1, le=100),
                       tag: Optional[str] = Query(None, max_length=100),
                       u: Optional[User] = Depends(optional_user), s: Session = Depends(db)):
        # Newest first, as Lattice lists; `limit` is Lattice's name for the
        # page size, taken too so that one client call fits both sides of a
        # migration.
        per_page = limit or per_page
        q = select(Resource)
        if u is None:
            q = q.where(Resource.visibility == "public")
        elif not u.is_admin:
            q = q.where(or_(Resource.owner_id == u.id, Resource.visibility.in_(["public", "internal"])))
        order = (Resource.created_at.desc(), Resource.id.desc())
        rows = [r for r in s.scalars(q.order_by(*order)) if tag is None or tag in (r.tags or [])]
        total = len(rows)
        start = (page - 1) * per_page
        return {"items": [resource_json(r) for r in rows[start:start + per_page]], "page": page,
                "per_page": per_page, "total": total}

    @app.post("/v1/resources", status_code=201)
    def create_resource(body: ResourceIn, background: BackgroundTasks, u: User = Depends(current_user), s: Session = Depends(db)):
        r = Resource(owner_id=u.id, title=body.title, body=body.body, visibility=body.visibility,
                     tags=body.tags, meta=body.metadata)
        s.add(r)
        s.commit()
        feed(background, r.id, resource_json(r))
        return resource_json(r)

    @app.get("/v1/resources/{rid}")
    def get_resource(rid: int, u: Optional[User] = Depends(optional_user), s: Session = Depends(db)):
        r = s.get(Resource, rid)
        if not readable(r, u):
            problem(404, "resource not found")
        return resource_json(r)

    @app.patch("/v1/resources/{rid}")
    def patch_resource(rid: int, body: ResourcePatch, background: BackgroundTasks, u: User = Depends(current_user),
                       s: Session = Depends(db)):
        r = owned(s, rid, u)
        for field, value in body.dict(exclude_unset=True).items():
            setattr(r, "meta" if field == "metadata" else field, value)
        r.version += 1
        r.updated_at = now()
        s.commit()
        feed(background, r.id, resource_json(r))
        return resource_json(r)

    @app.delete("/v1/resources/{rid}", status_code=204)
    def delete_resource(rid: int, background: BackgroundTasks, u: User = Depends(current_user), s: Session = Depends(db)):
        r = owned(s, rid, u)
        paths = [f.path for f in r.files]
        s.delete(r)
        s.commit()
        feed(background, rid, None)
        for p in paths:
            try:
                os.remove(os.path.join(cfg["files_dir"], p))
            except FileNotFoundError:
                pass
        return Response(status_code=204)

    @app.post("/v1/resources/{rid}/files", status_code=201)
    async def upload(rid: int, request: Request, background: BackgroundTasks, name: str = Query(..., min_length=1, max_length=255),
                     u: User = Depends(current_user), s: Session = Depends(db)):
        r = owned(s, rid, u)
        rel = uuid.uuid4().hex
        digest, size = hashlib.sha256(), 0
        with open(os.path.join(cfg["files_dir"], rel), "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > cfg["max_upload"]:
                    out.close()
                    os.remove(os.path.join(cfg["files_dir"], rel))
                    problem(413, "file too large")
                digest.update(chunk)
                out.write(chunk)
        f = StoredFile(resource_id=r.id, name=name, content_type=request.headers.get("content-type", "application/octet-stream"),
                       size=size, sha256=digest.hexdigest(), path=rel)
        s.add(f)
        s.flush()
        job = Job(file_id=f.id)
        s.add(job)
        s.commit()
        background.add_task(process_upload, Sessions, cfg["files_dir"], job.id)
        return file_json(f)

    @app.get("/v1/resources/{rid}/files")
    def list_files(rid: int, u: Optional[User] = Depends(optional_user), s: Session = Depends(db)):
        r = s.get(Resource, rid)
        if not readable(r, u):
            problem(404, "resource not found")
        return {"items": [file_json(f) for f in sorted(r.files, key=lambda f: f.id)]}

    @app.get("/v1/resources/{rid}/files/{fid}/content")
    def file_content(rid: int, fid: int, u: Optional[User] = Depends(optional_user), s: Session = Depends(db)):
        f = s.get(StoredFile, fid)
        if f is None or f.resource_id != rid or not readable(f.resource, u):
            problem(404, "file not found")
        return FileResponse(os.path.join(cfg["files_dir"], f.path), media_type=f.content_type, filename=f.name)

    @app.get("/v1/jobs")
    def list_jobs(resource_id: int = Query(...), u: User = Depends(current_user), s: Session = Depends(db)):
        owned(s, resource_id, u)
        rows = s.scalars(select(Job).join(StoredFile).where(StoredFile.resource_id == resource_id).order_by(Job.id))
        return {"items": [{"id": j.id, "file_id": j.file_id, "state": j.state, "word_count": j.word_count} for j in rows]}

    @app.exception_handler(HTTPException)
    def http_error(_request, exc: HTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    return app


def send_change(url: str, token: Optional[str], rid: int, state):
    """PUTs the resource as it now is to Lattice's change feed, or DELETEs it,
    retrying a few times. A real monolith would write the change to an outbox
    table in the same transaction and send it from there, so that a crash
    between the commit and the send loses nothing; this example sends after
    the response and gives up after the retries."""
    import json
    import time
    import urllib.error
    import urllib.request

    data, method = None, "DELETE"
    if state is not None:
        method = "PUT"
        data = json.dumps({"owner": str(state["owner_id"]), "title": state["title"], "body": state["body"],
                           "visibility": state["visibility"], "tags": state["tags"] or [],
                           "metadata": {k: v if isinstance(v, str) else json.dumps(v) for k, v in (state["metadata"] or {}).items()},
                           "created_at": state["created_at"], "updated_at": state["updated_at"]}).encode()
    for attempt in range(5):
        req = urllib.request.Request(f"{url}/{rid}", data=data, method=method,
                                     headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
            return
        except urllib.error.HTTPError as e:
            if e.code < 500 and e.code != 429:
                print(f"change feed refused resource {rid}: {e.code} {e.read()[:300]!r}", file=os.sys.stderr)
                return
        except OSError:
            pass
        time.sleep(0.2 * 2 ** attempt)
    print(f"change feed: resource {rid} not sent", file=os.sys.stderr)


def issue_session(s: Session, secret: str, u: User) -> str:
    """A login: a session row, and the HS256 JWT that names it."""
    sid = str(uuid.uuid4())
    issued = now()
    expires = issued + dt.timedelta(hours=SESSION_HOURS)
    s.add(LoginSession(id=sid, user_id=u.id, created_at=issued, expires_at=expires))
    s.commit()
    return jwt.encode({"sub": str(u.id), "sid": sid, "iat": issued, "exp": expires, "email": u.email}, secret, algorithm="HS256")


def process_upload(Sessions, files_dir: str, job_id: int):
    """The background job: reads the upload and records its word count."""
    with Sessions() as s:
        job = s.get(Job, job_id)
        f = s.get(StoredFile, job.file_id)
        try:
            with open(os.path.join(files_dir, f.path), "rb") as fh:
                job.word_count = len(fh.read().decode("utf-8", "replace").split())
            job.state = "done"
        except OSError:
            job.state = "failed"
        job.updated_at = now()
        s.commit()


def new_secret() -> str:
    return secrets.token_urlsafe(32)
