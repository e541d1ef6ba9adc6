// The python3 installer's requirements.txt reader (buildpacks/python3/install.py), run by this machine's python3:
// lines as pip splits and joins them, plain requirements kept, anything else refused naming the line.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { PROJECT_ROOT } from '../config.js';

const DIR = path.join(PROJECT_ROOT, 'buildpacks', 'python3');
const READER = `
import base64, json, sys
sys.path.insert(0, sys.argv[1])
import install
results = []
for case in json.load(sys.stdin):
    try:
        results.append({'lines': install.read_requirements(base64.b64decode(case))})
    except install.Refused as refused:
        results.append({'refused': str(refused)})
print(json.dumps(results))
`;

type Expected = string[] | RegExp;
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const cases: [string, Buffer, Expected][] = [
  ['names, extras, versions, markers, comments and blank lines', utf8('# deps\nrequests[socks, security] >= 2.31, < 3 ; python_version >= "3.8"  # http\n\nhumanize==4.16.0\nsix\n'), ['requests[socks, security] >= 2.31, < 3 ; python_version >= "3.8"', 'humanize==4.16.0', 'six']],
  ['CRLF line ends', utf8('six\r\nhumanize\r\n'), ['six', 'humanize']],
  ['a UTF-8 BOM is dropped', utf8('\ufeffsix\n'), ['six']],
  ['a backslash continuation is joined as pip joins it', utf8('six \\\n  ==1.16.0\n'), ['six   ==1.16.0']],
  ['parenthesised versions', utf8('six (>=1.0)\n'), ['six (>=1.0)']],
  ['a BOM then --index-url', utf8('\ufeff--index-url http://127.0.0.1:9/simple\nsix\n'), /^requirements\.txt line 1: "--index-url http:\/\/127\.0\.0\.1:9\/simple": options such as "--index-url" are not supported/],
  ['an option after a requirement', utf8('six --no-binary :all:\n'), /^requirements\.txt line 1: "six --no-binary :all:": options such as "--no-binary"/],
  ['a form feed splitting off an option', utf8('humanize\nsix\f--no-binary :all:\n'), /^requirements\.txt line 2 \("six\\f--no-binary :all:", where pip reads \\f as a line break\): "--no-binary :all:": options such as "--no-binary"/],
  ['NEL splitting off an option', utf8('six\u0085--extra-index-url http://127.0.0.1:9/simple\n'), /^requirements\.txt line 1 \("six\\x85--extra-index-url .*", where pip reads \\x85 as a line break\): .*options such as "--extra-index-url"/],
  ['a line separator splitting off an option', utf8('six\u2028-i http://x\n'), /^requirements\.txt line 1 \(.*\\u2028 as a line break\): "-i http:\/\/x": options such as "-i"/],
  ['a vertical tab', utf8('six\v-e .\n'), /line 1 \(.*\\v as a line break\): "-e \."/],
  ['a continuation that makes an option', utf8('six \\\n--pre\n'), /^requirements\.txt line 1: "six --pre": options such as "--pre"/],
  ['an option hidden in a marker string', utf8('six; os_name == "a --index-url=http://x"\n'), /options such as "--index-url=http:\/\/x""/],
  ['-r, -c, -e', utf8('-r other.txt\n'), /line 1: "-r other\.txt": options such as "-r"/],
  ['a direct URL', utf8('six @ https://127.0.0.1:9/six-1.0-py3-none-any.whl\n'), /line 1: "six @ https:.*": only plain requirements are supported/],
  ['a URL alone', utf8('https://127.0.0.1:9/six.whl\n'), /only plain requirements are supported/],
  ['a path', utf8('./pkg\n'), /line 1: "\.\/pkg": only plain requirements/],
  ['an archive file name', utf8('six-1.0-py3-none-any.whl\n'), /is a file name/],
  ['an environment variable', utf8('${INDEX}\n'), /line 1: "\$\{INDEX\}": only plain requirements/],
  ['a name glued to a comment sign', utf8('six#x\n'), /only plain requirements/],
  ['non-ASCII text', utf8('sïx\n'), /line 1: "s\\xefx": only plain requirements .* in ASCII/],
  ['UTF-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('six\n', 'utf16le')]), /UTF-16 or UTF-32/],
  ['bytes that are not UTF-8', Buffer.from([0x73, 0x69, 0x78, 0x0a, 0xff, 0x0a]), /^requirements\.txt line 2: is not UTF-8 text$/],
];

let results: { lines?: string[]; refused?: string }[] = [];
test.before(() => {
  const input = JSON.stringify(cases.map(([, data]) => data.toString('base64')));
  results = JSON.parse(execFileSync('python3', ['-I', '-B', '-c', READER, DIR], { input, encoding: 'utf8', timeout: 30_000 })) as typeof results;
});

cases.forEach(([title, , expected], index) => {
  test(`requirements.txt: ${title}`, (t) => {
    const result = results[index];
    if (Array.isArray(expected)) t.deepEqual(result, { lines: expected });
    else t.regex(result?.refused ?? `accepted: ${JSON.stringify(result?.lines)}`, expected);
  });
});
