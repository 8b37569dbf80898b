"""Seeds the reference monolith's database with the data a migration meets:
users of two hash generations, resources with metadata and tags, files on
disk, and the bad rows legacy data accumulates (an invalid email, a
duplicate email differing only in case, a file row whose file is gone, an
oversize file). It prints a JSON summary on stdout, with the password of
each user (test data: user i's password is "password-<i>").

  seed.py --users 300 --resources-per-user 2 --files-per-resource 1
"""

import argparse
import hashlib
import json
import os
import random
import uuid

from passlib.hash import bcrypt, pbkdf2_sha256
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

import monolith

# Seeding hundreds of bcrypt hashes at cost 12 takes minutes; cost 4 makes
# the same kind of hash ($2b$04$...), which verifies the same way.
FAST_BCRYPT = bcrypt.using(rounds=4)
TAGS = ["harbour", "tides", "gulls", "ledger", "archive", "draft", "field", "report"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=300)
    ap.add_argument("--resources-per-user", type=int, default=2)
    ap.add_argument("--files-per-resource", type=int, default=1)
    ap.add_argument("--oversize", type=int, default=11 << 20, help="bytes of the one oversize file")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    cfg = monolith.settings()
    monolith.ensure_database(cfg["database_url"])
    engine = create_engine(cfg["database_url"], future=True)
    monolith.Base.metadata.drop_all(engine)
    monolith.Base.metadata.create_all(engine)
    os.makedirs(cfg["files_dir"], exist_ok=True)
    summary = {"users": [], "resources": 0, "files": 0, "bad": {}}
    with Session(engine) as s:
        users = []
        for i in range(args.users):
            scheme = "pbkdf2_sha256" if i % 3 == 0 else "bcrypt"  # the early third predates bcrypt
            password = f"password-{i}"
            h = pbkdf2_sha256.hash(password) if scheme == "pbkdf2_sha256" else FAST_BCRYPT.hash(password)
            u = monolith.User(email=f"user{i}@monolith.example", full_name=f"User {i}", password_hash=h, is_admin=(i == 0))
            s.add(u)
            users.append(u)
            summary["users"].append({"email": u.email, "password": password, "scheme": scheme})
        # Legacy data's mistakes, written as old code wrote them.
        bad_email = monolith.User(email="not-an-email", full_name="Broken", password_hash=pbkdf2_sha256.hash("password-x"))
        dup_email = monolith.User(email="USER1@monolith.example", full_name="User 1 again", password_hash=FAST_BCRYPT.hash("password-y"))
        s.add_all([bad_email, dup_email])
        s.flush()
        summary["bad"]["invalid_email"] = [bad_email.id]
        summary["bad"]["duplicate_email"] = [dup_email.id]
        resources = []
        for u in users:
            for j in range(args.resources_per_user):
                r = monolith.Resource(owner_id=u.id, title=f"{u.full_name}'s note {j}",
                                      body=f"{rnd.choice(TAGS)} and {rnd.choice(TAGS)}: entry {j} of {u.email}",
                                      visibility=rnd.choice(["private", "private", "internal", "public"]),
                                      tags=rnd.sample(TAGS, 2), meta={"source": "monolith", "n": str(j)})
                s.add(r)
                resources.append(r)
        s.flush()
        summary["resources"] = len(resources)
        files = []
        for r in resources:
            for k in range(args.files_per_resource):
                files.append(write_file(cfg["files_dir"], r, f"notes-{k}.txt", f"Notes {k} on {r.title}.\n".encode()))
        s.add_all(files)
        if resources:  # the bad file rows need a resource to belong to
            missing = write_file(cfg["files_dir"], resources[0], "gone.txt", b"this file will be lost\n")
            os.remove(os.path.join(cfg["files_dir"], missing.path))
            oversize = write_file(cfg["files_dir"], resources[-1], "huge.bin", b"\0" * args.oversize)
            s.add_all([missing, oversize])
            files += [missing, oversize]
        s.commit()
        summary["files"] = len(files)
        if resources:
            summary["bad"]["missing_file"] = [missing.id]
            summary["bad"]["oversize_file"] = [oversize.id]
    json.dump(summary, os.sys.stdout)


def write_file(files_dir, r, name, data):
    rel = uuid.uuid4().hex
    with open(os.path.join(files_dir, rel), "wb") as f:
        f.write(data)
    return monolith.StoredFile(resource_id=r.id, name=name, content_type="text/plain", size=len(data),
                               sha256=hashlib.sha256(data).hexdigest(), path=rel)


if __name__ == "__main__":
    main()
