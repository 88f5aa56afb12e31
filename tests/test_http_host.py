"""The wasi:http reference host (`wit2witx.hosts.http.HttpHost`) called directly, against
a real server on 127.0.0.1: request framing the C guests' tests do not reach (a body
finished before `handle`, the guest's own Content-Length kept or broken), and `fields`
rules. The end-to-end tests through a guest are test_http_client/handler/hostile.
"""

from __future__ import annotations

import time

import pytest

from test_http_client import Server

pytest.importorskip("wasmtime")


@pytest.fixture
def host():
    from wit2witx.hosts.http import HttpHost

    return HttpHost()


def request(host, port: int, headers: list[tuple[str, bytes]], method: str = "post"):
    import wit2witx.hosts.http as h

    req = host.outgoing_request_new(host.fields_from_list(headers))
    host.outgoing_request_set_method(req, getattr(h.T.Method, method)())
    host.outgoing_request_set_authority(req, f"127.0.0.1:{port}")
    host.outgoing_request_set_path_with_query(req, "/upload")
    return req


def wait(host, future):
    deadline = time.monotonic() + 60
    while (got := host.future_incoming_response_get(future, result_capacity=1 << 16)) is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return got.value  # Ok(inner): inner is Ok(response) or Err(error-code)


def test_body_finished_before_handle_goes_with_its_length(host):
    from wit2witx.hosts.runtime import Ok

    with Server() as server:
        req = request(host, server.port, [("content-type", b"text/plain")])
        body = host.outgoing_request_body(req)
        out = host.outgoing_body_write(body)
        host.output_stream_blocking_write_and_flush(out, b"hello there")
        host.outgoing_body_finish(body, None, result_capacity=1 << 16)
        inner = wait(host, host.handle(req, None, result_capacity=1 << 16))
    assert isinstance(inner, Ok) and inner.value.status == 200
    (_, _, headers, data, _), = server.seen
    assert data == b"hello there"
    assert ("Content-Length", "11") in headers
    assert not any(n.lower() == "transfer-encoding" for n, _ in headers)


def test_guest_content_length_broken_is_request_body_size(host):
    import wit2witx.hosts.http as h
    from wit2witx.hosts.runtime import Err

    with Server() as server:
        req = request(host, server.port, [("content-length", b"5")])
        body = host.outgoing_request_body(req)
        future = host.handle(req, None, result_capacity=1 << 16)
        host.output_stream_blocking_write_and_flush(host.outgoing_body_write(body), b"abc")
        host.outgoing_body_finish(body, None, result_capacity=1 << 16)
        inner = wait(host, future)
    assert isinstance(inner, Err)
    assert inner.value.tag == h.T.ErrorCodeTag.HTTP_REQUEST_BODY_SIZE and inner.value.value == 3
    assert host.future_incoming_response_get(future, result_capacity=1 << 16).__class__ is Err  # taken


def test_fields_rules(host):
    import wit2witx.hosts.http as h

    f = host.fields_from_list([("X-One", b"1"), ("x-one", b"2"), ("Other", b"")])
    assert host.fields_get(f, b"X-ONE", result_capacity=64) == [b"1", b"2"]
    assert host.fields_has(f, b"other") and not host.fields_has(f, b"missing")
    host.fields_set(f, b"x-one", [b"3"])
    assert host.fields_entries(f, result_capacity=256) == [("Other", b""), ("x-one", b"3")]
    for call, args, case in [
        (host.fields_delete, (f, b"Connection"), "FORBIDDEN"),
        (host.fields_set, (f, b"te", [b"x"]), "FORBIDDEN"),
        (host.fields_append, (f, b"x:y", b"1"), "INVALID_SYNTAX"),
        (host.fields_append, (f, b"ok", b"\x00"), "INVALID_SYNTAX"),
        (host.fields_append, (f, b"", b"1"), "INVALID_SYNTAX"),
    ]:
        with pytest.raises(h.T.HeaderErrorError) as info:
            call(*args)
        assert info.value.value == getattr(h.T.HeaderError, case)
    clone = host.fields_clone(f)
    host.outgoing_response_new(f)  # a response holds f now
    with pytest.raises(h.T.HeaderErrorError) as info:
        host.fields_append(f, b"late", b"1")
    assert info.value.value == h.T.HeaderError.IMMUTABLE
    host.fields_append(clone, b"late", b"1")  # the clone is its own, mutable
    assert host.fields_get(clone, b"late", result_capacity=64) == [b"1"]


def test_http_error_code_of_other_io_errors_is_none(host):
    from wit2witx.hosts.sockets import IoError

    assert host.http_error_code(IoError("recv: reset"), result_capacity=64) is None
