"""Flask extensions, created unbound and initialised in :func:`server.create_app` (``init_app``)."""

import ipaddress
import re

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session

# Stable constraint names so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()


def client_network(address: str) -> str:
    """What a rate limit counts a client by: an IPv4 address as it is; an IPv6 address by its /64 network,
    which is one subscriber's (a phone or a home gets a whole /64 and may take a new address in it at will);
    an IPv4-mapped IPv6 address (a dual-stack socket's) as the IPv4 address.  Anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return address
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((ip, 64), strict=False))


def client_key() -> str:
    """The rate limits' key: the request's client network (:func:`client_network`; the address is the one
    ``RUHU_PROXY_HOPS`` lets through)."""
    return client_network(request.remote_addr or "127.0.0.1")


# Rate limits are per client network (client_key); storage is memory:// by default, Redis when
# RATELIMIT_STORAGE_URI names one (several gunicorn workers must share it).
limiter = Limiter(key_func=client_key, default_limits=[])


# --- reads outside a transaction (PostgreSQL) ------------------------------------------------------------
# psycopg sends BEGIN in a round trip of its own, and at a ROLLBACK it drops every prepared statement of the
# connection (DEALLOCATE ALL, one more round trip), so that a read-only request ending in a rollback also kept
# its statements from ever being prepared.  Under READ COMMITTED each statement of a transaction takes its own
# snapshot anyway, so reads that take no lock mean the same in autocommit mode, without those round trips.

_AUTOCOMMIT = "ruhu_autocommit"


def autocommit_reads() -> bool:
    """On PostgreSQL, run the session's statements from here in autocommit mode (each its own transaction);
    a no-op elsewhere, or when the session is already in a transaction.  For reads and single-statement writes
    only: call :func:`end_autocommit` before work that needs a transaction (several writes, a lock).  The
    connection's mode is restored when it goes back to the pool.  Returns whether autocommit was taken."""
    session = db.session()   # the request's Session (the scoped proxy lacks in_transaction)
    if session.in_transaction() or session.get_bind().dialect.name != "postgresql":
        return False
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[_AUTOCOMMIT] = True
    return True


def in_autocommit(session: Session) -> bool:
    """Whether ``session`` is in the autocommit phase :func:`autocommit_reads` began."""
    return bool(session.info.get(_AUTOCOMMIT))


def end_autocommit() -> None:
    """End the autocommit phase started by :func:`autocommit_reads` (if any): the next statement begins an
    ordinary transaction.  Rows loaded so far are expired.  The phase is for reads, so it ends as a read-only
    transaction does, with a rollback (which sends nothing: there is no transaction on the connection); a change
    still pending in the session is written first."""
    session = db.session()
    if in_autocommit(session):
        if session.new or session.dirty or session.deleted:
            session.commit()
        else:
            session.rollback()


# --- a read-only transaction ends with a commit (PostgreSQL) ---------------------------------------------
# A console page reads in a transaction and Flask-SQLAlchemy ends it with a rollback: psycopg then drops every
# prepared statement of the connection (above), so the console's queries were parsed and planned again on
# every page.  A transaction that only read ends the same with a commit, which keeps them.

_WROTE = "ruhu_wrote"
AUDIT_PENDING = "ruhu_audit_pending"   # session.info: audit entries recorded, written at the commit (operations.audit)
_READ = re.compile(r"\s*(?:SELECT|WITH)\b", re.I)
# A change or a lock inside a SELECT / WITH (keywords as SQL writes them, not column names such as "merge").
_WRITE = re.compile(r"\bINSERT\s+INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b|\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b"
                    r"|\bFOR\s+(?:KEY\s+)?SHARE\b|\bpg_advisory", re.I)


@event.listens_for(Engine, "after_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    """Note on the connection a statement that may have changed anything (or locked rows: FOR UPDATE)."""
    if executemany or not _READ.match(statement) or _WRITE.search(statement):
        conn.info[_WROTE] = True


@event.listens_for(Engine, "begin")
def _transaction_begun(conn) -> None:
    conn.info.pop(_WROTE, None)


def end_read_only(exc: BaseException | None = None) -> None:
    """At the end of a request (``teardown_request``) on PostgreSQL: commit the session's transaction when it
    ran only reads and nothing is pending in the session, instead of the rollback Flask-SQLAlchemy would send.
    Anything else — a write, a lock taken, a change not flushed, a request that failed — is left to that
    rollback, as before."""
    session = db.session()
    if exc is not None or in_autocommit(session) or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted or session.info.get(AUDIT_PENDING):
        return   # (an audit entry recorded and not committed is dropped with its transaction, never written here)
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        connection = session.connection()
        if connection.info.get(_WROTE):
            return
        session.commit()
    except Exception:   # never fail a response at its end: the rollback that follows cleans up
        session.rollback()


@event.listens_for(Session, "after_transaction_end")
def _autocommit_ended(session, transaction) -> None:
    if transaction.parent is None:   # the session's transaction (its connection) is over: so is autocommit
        session.info.pop(_AUTOCOMMIT, None)
