# The AWS Lambda side of a request: the context, the API Gateway v2 event, the result or error as the HTTP answer.
import base64
import json
import os
import re
import time
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlsplit

from . import settings
from .settings import ERROR_HEADER

TEXT_TYPES = re.compile(r'^(text/|application/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))', re.I)


class Context:
    """The Lambda context object: AWS's Python names, and the names the Node runtime's context has."""

    def __init__(self, request_id):
        name, version = settings.FUNCTION_NAME, settings.FUNCTION_VERSION
        self._deadline = time.time() + settings.TIMEOUT_MS / 1000
        self.aws_request_id = self.awsRequestId = request_id
        self.function_name = self.functionName = name
        self.function_version = self.functionVersion = version
        self.memory_limit_in_mb = self.memoryLimitInMB = settings.MEMORY_MB
        self.invoked_function_arn = self.invokedFunctionArn = f'arn:lambda:local:function:{name}:{version}'
        self.log_group_name = self.logGroupName = f'/lambda/{name}'
        self.log_stream_name = self.logStreamName = os.environ.get('HOSTNAME', 'instance')
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.time()) * 1000))

    getRemainingTimeInMillis = get_remaining_time_in_millis


def http_event(method, target, version, headers, body, request_id):
    url = urlsplit(target)
    joined = {}
    cookies = []
    for name, value in headers:
        if name.startswith('x-lambda-internal-') or name in ('connection', 'keep-alive'):
            continue
        if name == 'cookie':
            cookies.extend(part.strip() for part in value.split(';') if part.strip())
        else:
            joined[name] = f'{joined[name]},{value}' if name in joined else value
    query = {}
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        query[key] = f'{query[key]},{value}' if key in query else value
    forwarded = [part.strip() for part in joined.get('x-forwarded-for', '').split(',') if part.strip()]
    host = joined.get('x-forwarded-host') or joined.get('host') or 'localhost'
    now = datetime.now(timezone.utc)
    event = {
        'version': '2.0',
        'routeKey': '$default',
        'rawPath': url.path,
        'rawQueryString': url.query,
        'headers': joined,
        'requestContext': {
            'accountId': 'local',
            'apiId': 'lambda',
            'domainName': host,
            'domainPrefix': host.split('.')[0],
            'http': {
                'method': method,
                'path': url.path,
                'protocol': version,
                'sourceIp': forwarded[-1] if forwarded else '127.0.0.1',
                'userAgent': joined.get('user-agent', ''),
            },
            'requestId': request_id,
            'routeKey': '$default',
            'stage': '$default',
            'time': now.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
            'timeEpoch': int(now.timestamp() * 1000),
        },
        'isBase64Encoded': False,
    }
    if cookies:
        event['cookies'] = cookies
    if url.query:
        event['queryStringParameters'] = query
    if body:
        text = bool(TEXT_TYPES.match(joined.get('content-type', '')))
        event['body'] = body.decode('utf-8', 'replace') if text else base64.b64encode(body).decode('ascii')
        event['isBase64Encoded'] = not text
    return event


def result_response(result):
    """API Gateway's mapping: a dict with statusCode is the response; anything else is JSON with status 200."""
    if isinstance(result, dict) and 'statusCode' in result:
        headers = [(str(name), value) for name, value in (result.get('headers') or {}).items()]
        for cookie in result.get('cookies') or []:
            headers.append(('set-cookie', cookie))
        body = result.get('body')
        if body is None:
            body = ''
        if not isinstance(body, str):
            body = json.dumps(body)
        data = base64.b64decode(body) if result.get('isBase64Encoded') else body.encode('utf-8')
        if not any(name.lower() == 'content-type' for name, _ in headers):
            headers.append(('content-type', 'application/json'))
        try:
            status = int(result['statusCode'])
        except (TypeError, ValueError):
            status = 200
        return status, headers, data
    return 200, [('content-type', 'application/json')], json.dumps(result).encode('utf-8')


def error_response(error, direct, request_id):
    if direct:
        body = {'errorType': type(error).__name__, 'errorMessage': str(error)}
        return 502, [('content-type', 'application/json'), (ERROR_HEADER, 'Unhandled')], json.dumps(body).encode('utf-8')
    # As API Gateway does: anonymous callers learn that it failed, not why; the log has the error and its traceback.
    return 502, [('content-type', 'application/json')], json.dumps({'message': 'Internal Server Error', 'requestId': request_id}).encode('utf-8')


def new_request_id():
    # A version 4 UUID without importing uuid (which costs a cold start more than this).
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f'{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}'
