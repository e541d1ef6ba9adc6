// The AWS Lambda side of a request: the context, the API Gateway v2 event, the result or error as the HTTP answer.
import { ERROR_HEADER, functionName, functionVersion, memoryMb, timeoutMs } from './settings.mjs';

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))/i;

export function makeContext(requestId) {
  const deadline = Date.now() + timeoutMs;
  return {
    awsRequestId: requestId,
    functionName,
    functionVersion,
    memoryLimitInMB: memoryMb,
    invokedFunctionArn: `arn:lambda:local:function:${functionName}:${functionVersion}`,
    logGroupName: `/lambda/${functionName}`,
    logStreamName: process.env.HOSTNAME || 'instance',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function joinHeaders(rawHeaders) {
  const headers = {};
  const cookies = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    if (name.startsWith('x-lambda-internal-') || name === 'connection' || name === 'keep-alive') continue;
    if (name === 'cookie') cookies.push(...value.split(';').map((c) => c.trim()).filter(Boolean));
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return { headers, cookies };
}

export function httpEvent(req, body, requestId) {
  const url = new URL(req.url, 'http://function');
  const { headers, cookies } = joinHeaders(req.rawHeaders);
  const query = {};
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const forwardedFor = (headers['x-forwarded-for'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  const host = headers['x-forwarded-host'] || headers.host || 'localhost';
  const now = new Date();
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    requestContext: {
      accountId: 'local',
      apiId: 'lambda',
      domainName: host,
      domainPrefix: host.split('.')[0],
      http: {
        method: req.method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: forwardedFor.at(-1) || '127.0.0.1',
        userAgent: headers['user-agent'] || '',
      },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length) event.cookies = cookies;
  if (url.search) event.queryStringParameters = query;
  if (body.length) {
    const text = TEXT_TYPES.test(headers['content-type'] || '');
    event.body = text ? body.toString('utf8') : body.toString('base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

export function sendResult(res, result) {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const headers = { ...(result.headers || {}) };
    if (Array.isArray(result.cookies) && result.cookies.length) headers['set-cookie'] = result.cookies;
    let body = result.body ?? '';
    if (typeof body !== 'string') body = JSON.stringify(body);
    const bytes = result.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    res.writeHead(Number(result.statusCode) || 200, headers);
    res.end(bytes);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(result ?? null));
}

export function sendError(res, error, direct, requestId) {
  const errorType = (error && (error.name || error.constructor?.name)) || 'Error';
  const errorMessage = error instanceof Error ? error.message : String(error);
  console.error(`ERROR\tInvoke Error\t${JSON.stringify({ errorType, errorMessage, requestId, stack: error?.stack?.split('\n') })}`);
  const headers = { 'content-type': 'application/json' };
  if (direct) {
    headers[ERROR_HEADER] = 'Unhandled';
    res.writeHead(502, headers);
    res.end(JSON.stringify({ errorType, errorMessage }));
    return;
  }
  // As API Gateway does: anonymous callers learn that it failed, not why; the log has the error and its stack.
  res.writeHead(502, headers);
  res.end(JSON.stringify({ message: 'Internal Server Error', requestId }));
}

export function sendDirect(res, result) {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(result ?? null));
}
