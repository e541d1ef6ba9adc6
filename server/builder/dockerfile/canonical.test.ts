// The strict Dockerfile reader and canonical writer: what is accepted, what it becomes, and hostile inputs refused.
import test from 'ava';
import { canonicalDockerfile, DockerfileError, finalBase, parseDockerfile } from './canonical.js';
import { parse, refusal } from './build.js';
import { LambdaError } from '../../errors.js';

const RUNTIMES = ['node20', 'python3'];
const IDS = { node20: `sha256:${'a'.repeat(64)}`, python3: `sha256:${'b'.repeat(64)}` };
const canonical = (text: string) => canonicalDockerfile(parseDockerfile(text, RUNTIMES), IDS);

const written = test.macro({
  exec(t, text: string, expected: string) {
    t.is(canonical(text), expected);
  },
  title: (label = '') => `written: ${label}`,
});

const refused = test.macro({
  exec(t, text: string, expected: RegExp) {
    const error = t.throws(() => parseDockerfile(text, RUNTIMES), { instanceOf: DockerfileError });
    t.regex(String(error?.message), expected);
  },
  title: (label = '') => `refused: ${label}`,
});

const P = IDS.python3;
const N = IDS.node20;

test('a runtime base, COPY and CMD in JSON form', written, 'FROM lambda/python3\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n', `FROM ${P} AS s0\nCOPY ["server.py","/app/server.py"]\nCMD ["python3","/app/server.py"]\n`);
test('shell forms become /bin/sh -c in JSON form', written, 'FROM lambda/node20:latest\nRUN echo "a b" && touch /x\nENTRYPOINT node /app/x.js\n', `FROM ${N} AS s0\nRUN ["/bin/sh","-c","echo \\"a b\\" && touch /x"]\nENTRYPOINT ["/bin/sh","-c","node /app/x.js"]\n`);
test('continuations join as Docker joins them, comments and blank lines inside skipped', written, 'from lambda/python3\nrun echo a \\\n# a comment\n\n  b\n', `FROM ${P} AS s0\nRUN ["/bin/sh","-c","echo a   b"]\n`);
test('stages are named by position, COPY --from by name or number', written, 'FROM lambda/python3 AS Build\nRUN true\nFROM scratch\nCOPY --from=build /usr /usr\nCOPY --from=0 --chown=10001:10001 /etc /etc\n', `FROM ${P} AS s0\nRUN ["/bin/sh","-c","true"]\nFROM scratch AS s1\nCOPY --from=s0 ["/usr","/usr"]\nCOPY --from=s0 --chown=10001:10001 ["/etc","/etc"]\n`);
test('ENV, LABEL, ARG, WORKDIR, USER, EXPOSE kept as one line each', written, 'FROM lambda/python3\nENV A=1 \\\n B=2\nLABEL x="y z"\nARG V=1\nWORKDIR /app\nUSER 10001\nEXPOSE 8080\n', `FROM ${P} AS s0\nENV A=1  B=2\nLABEL x="y z"\nARG V=1\nWORKDIR /app\nUSER 10001\nEXPOSE 8080\n`);
test('CRLF line ends', written, 'FROM lambda/python3\r\nCOPY site.tar /srv/\r\n', `FROM ${P} AS s0\nCOPY ["site.tar","/srv/"]\n`);

test('the final image\'s base follows stages', (t) => {
  t.is(finalBase(parseDockerfile('FROM lambda/node20 AS a\nFROM a AS b\nFROM b\n', RUNTIMES)), 'node20');
  t.is(finalBase(parseDockerfile('FROM lambda/node20 AS a\nFROM scratch\n', RUNTIMES)), undefined);
  t.deepEqual(parseDockerfile('FROM lambda/node20 AS a\nFROM lambda/python3\n', RUNTIMES).runtimes, ['node20', 'python3']);
});

// Characters Docker reads differently than they look: each could hide a FROM inside a LABEL's continuation.
for (const [name, char] of [
  ['form feed', '\f'],
  ['vertical tab', '\v'],
  ['no-break space', '\u00a0'],
  ['next line (U+0085)', '\u0085'],
  ['line separator (U+2028)', '\u2028'],
  ['paragraph separator (U+2029)', '\u2029'],
  ['zero-width space', '\u200b'],
  ['NUL', '\u0000'],
] as const) {
  test(`a ${name} after a continuation backslash`, refused, `FROM lambda/python3\nLABEL poc=1 \\${char}\nFROM lambda/greet:3f283f1a6a20\n`, /line 2: the character U\+[0-9A-F]{4} is not allowed/);
}
test('a lone carriage return', refused, 'FROM lambda/python3\nLABEL poc=1 \\\rFROM lambda/greet:3f283f1a6a20\n', /line 2: the character U\+000D is not allowed/);
test('a carriage return before a line feed is a line end', written, 'FROM lambda/python3\r\nLABEL a=1 \\\r\n  b=2\r\n', `FROM ${P} AS s0\nLABEL a=1   b=2\n`);
test('a byte order mark', refused, '\ufeffFROM lambda/python3\n', /line 1: the character U\+FEFF is not allowed/);
test('an escape directive', refused, '# escape=`\nFROM lambda/python3\nLABEL a=1 `\nFROM lambda/greet:x\n', /line 1: parser directives .* are not supported/);
test('a syntax directive', refused, '#syntax=docker/dockerfile:1\nFROM lambda/python3\n', /parser directives/);
test('a heredoc in RUN', refused, 'FROM lambda/python3\nRUN <<EOF\nFROM lambda/greet:x\nEOF\n', /line 2: RUN with a heredoc is not supported/);
test('a heredoc in COPY', refused, 'FROM lambda/python3\nCOPY <<EOF /x\nhi\nEOF\n', /line 2: COPY with a heredoc is not supported/);
test('a malformed JSON command', refused, 'FROM lambda/python3\nCMD ["python3", /app]\n', /line 2: a command starting with "\[" must be a JSON array of strings/);
test('a registry image', refused, 'FROM debian:bookworm\n', /line 1: FROM "debian:bookworm" is not available/);
test("another function's image", refused, '\n\nFROM lambda/greet:3f283f1a6a20\n', /line 3: FROM "lambda\/greet:3f283f1a6a20" is not available/);
test("another function's image by its new name", refused, 'FROM lambda-fn/greet:3f283f1a6a20\n', /is not available/);
test('a base by its hash tag', refused, 'FROM lambda/base-node20:0123456789ab\n', /is not available/);
test('a runtime alias with another tag', refused, 'FROM lambda/python3:3.12\n', /is not available/);
test('an image id', refused, `FROM ${P}\n`, /is not available/);
test('FROM --platform', refused, 'FROM --platform=linux/arm64 lambda/python3\n', /FROM takes no flags/);
test('a variable in FROM', refused, 'FROM lambda/python3\nARG B=lambda/python3\nFROM $B\n', /line 3: FROM must name an image, not a variable/);
test('ARG before FROM', refused, 'ARG B=lambda/python3\nFROM lambda/python3\n', /line 1: ARG before FROM is not allowed/);
test('COPY --from an image', refused, 'FROM lambda/python3\nCOPY --from=lambda/greet:3f283f1a6a20 /var/task /x\n', /line 2: COPY --from may name an earlier stage only/);
test('COPY --from the same stage', refused, 'FROM lambda/python3\nCOPY --from=0 /x /y\n', /COPY --from may name an earlier stage only/);
test('COPY --from a variable', refused, 'FROM lambda/python3 AS a\nFROM scratch\nCOPY --from=$S /x /y\n', /COPY --from may not use variables/);
test('COPY --chmod', refused, 'FROM lambda/python3\nCOPY --chmod=777 a /b\n', /COPY --chmod is not supported/);
test('ADD of an http URL', refused, 'FROM lambda/python3\nADD http://127.0.0.1:9/secret /x\n', /line 2: ADD is not allowed: the engine would fetch a URL/);
test('ADD of an upper-case HTTPS URL in JSON form', refused, 'FROM lambda/python3\nADD ["HTTPS://169.254.169.254/latest/meta-data", "/x"]\n', /ADD is not allowed/);
test('ADD of a git source', refused, 'FROM lambda/python3\nADD git@github.com:a/b.git /x\n', /ADD is not allowed/);
test('ADD of a local archive (unpacked by the engine itself)', refused, 'FROM lambda/python3\nADD site.tar.gz /srv/\n', /line 2: ADD is not allowed/);
test('ADD of a variable that could be a URL', refused, 'FROM lambda/python3\nARG U=http://127.0.0.1/\nADD $U /x\n', /line 3: ADD is not allowed/);
test('ADD of a braced variable', refused, 'FROM lambda/python3\nENV U=http://x/\nADD ["${U}", "/x"]\n', /ADD is not allowed/);
test('VOLUME', refused, 'FROM lambda/python3\nVOLUME /data\n', /line 2: VOLUME is not allowed/);
test('VOLUME in JSON form, lower case', refused, 'FROM lambda/python3\nvolume ["/data"]\n', /VOLUME is not allowed/);
test('ONBUILD', refused, 'FROM lambda/python3\nONBUILD ADD http://x/ /\n', /ONBUILD is not allowed/);
test('SHELL', refused, 'FROM lambda/python3\nSHELL ["/bin/bash", "-c"]\n', /SHELL is not allowed/);
test('HEALTHCHECK', refused, 'FROM lambda/python3\nHEALTHCHECK CMD true\n', /HEALTHCHECK is not allowed/);
test('RUN --mount', refused, 'FROM lambda/python3\nRUN --mount=type=cache,target=/x true\n', /RUN takes no flags/);
test('an unknown instruction', refused, 'FROM lambda/python3\nFETCH http://x\n', /"FETCH" is not an instruction/);
test('a file ending inside a continuation', refused, 'FROM lambda/python3\nLABEL a=1 \\\n', /the file ends inside a line continuation/);
test('no FROM', refused, '# nothing\n', /has no FROM line/);
test('an instruction before FROM', refused, 'RUN true\nFROM lambda/python3\n', /RUN before the first FROM/);

test('errors name the Dockerfile as LAMBDA_ERR_BUILD_FAILED', (t) => {
  const error = t.throws(() => parse('FROM busybox\n', RUNTIMES), { instanceOf: LambdaError });
  t.is(error?.code, 'LAMBDA_ERR_BUILD_FAILED');
  t.regex(String(error?.message), /Dockerfile line 1: FROM "busybox" is not available/);
});

test('the built image is refused for volumes, a foreign layer chain or its size', (t) => {
  const base = { id: 'b', layers: ['l1', 'l2'], sizeBytes: 100 * 1024 * 1024, volumes: [] };
  const ok = { id: 'i', layers: ['l1', 'l2', 'l3'], sizeBytes: 110 * 1024 * 1024, volumes: [] };
  t.is(refusal(ok, base, 64 * 1024 * 1024), undefined);
  t.regex(String(refusal({ ...ok, volumes: ['/data'] }, base, 64 * 1024 * 1024)), /declares volumes \(\/data\)/);
  t.regex(String(refusal({ ...ok, layers: ['x1', 'l2', 'l3'] }, base, 64 * 1024 * 1024)), /not built on the base image/);
  t.regex(String(refusal({ ...ok, sizeBytes: 200 * 1024 * 1024 }, base, 64 * 1024 * 1024)), /adds 100 MiB to its base, over this server's maximum code size of 64 MiB/);
  t.is(refusal({ ...ok, layers: ['s1'] }, undefined, 200 * 1024 * 1024), undefined);
});

test('a platform label is refused, also quoted, escaped or through a variable', (t) => {
  for (const line of ['LABEL lambda.instance=x', 'LABEL "lambda.server"="y"', 'LABEL Lambda.Managed true', 'LABEL lamb\\da.instance=x', 'LABEL a=1 "lam"bda.fn=2', 'LABEL ${K}=x']) {
    const error = t.throws(() => parseDockerfile(`FROM lambda/python3\n${line}\n`, RUNTIMES), { instanceOf: DockerfileError }, line);
    t.regex(String(error?.message), /line 2: LABEL may not (set lambda\.\* labels|use variables)/, line);
  }
  t.notThrows(() => parseDockerfile('FROM lambda/python3\nLABEL org.example.lambda=1 version="1.0"\n', RUNTIMES));
});

test('with a build label every stage starts with it', (t) => {
  const parsed = parseDockerfile('FROM lambda/python3 AS a\nRUN true\nFROM scratch\nCOPY --from=a /x /x\n', RUNTIMES);
  t.is(canonicalDockerfile(parsed, IDS, 'abc123/greet'), `FROM ${P} AS s0\nLABEL lambda.build.fn="abc123/greet"\nRUN ["/bin/sh","-c","true"]\nFROM scratch AS s1\nLABEL lambda.build.fn="abc123/greet"\nCOPY --from=s0 ["/x","/x"]\n`);
  t.throws(() => canonicalDockerfile(parsed, IDS, 'a"b/greet'), { instanceOf: DockerfileError });
});

test('the built image is refused for platform labels and for what its other stages wrote', (t) => {
  const base = { id: 'b', layers: ['l1'], sizeBytes: 100 * 1024 * 1024, volumes: [] };
  const ok = { id: 'i', layers: ['l1', 'l2'], sizeBytes: 110 * 1024 * 1024, volumes: [], labels: { 'lambda.managed': 'true', 'lambda.build.fn': 's/f', 'org.x': '1' } };
  const build = { others: 0, label: 's/f' };
  t.is(refusal(ok, base, 64 * 1024 * 1024, build), undefined);
  t.regex(String(refusal({ ...ok, labels: { ...ok.labels, 'lambda.instance': 'x' } }, base, 64 * 1024 * 1024, build)), /sets platform labels \("lambda\.instance"\)/);
  t.regex(String(refusal({ ...ok, labels: { ...ok.labels, 'lambda.build.fn': 's/other' } }, base, 64 * 1024 * 1024, build)), /sets platform labels/);
  t.regex(String(refusal(ok, base, 64 * 1024 * 1024, { ...build, others: 60 * 1024 * 1024 })), /the build wrote 70 MiB \(60 MiB in its other stages\), over this server's maximum code size of 64 MiB/);
});
