// The python3 installer's requirements.txt reader (buildpacks/python3/install.py), run by this machine's python3:
// lines as pip splits and joins them, plain requirements kept, anything else refused naming the line.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import { PROJECT_ROOT } from '../../config/load.js';

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
  ['a marker after a version', utf8('six >= 1.0 ,< 2 ; python_version >= "3.8"\n'), ['six >= 1.0 ,< 2 ; python_version >= "3.8"']],
  ['empty extras and versions in parentheses', utf8('six[ ] ( )\nsix [a , b] ( >=1 , <2 )\n'), ['six[ ] ( )', 'six [a , b] ( >=1 , <2 )']],
  ['a line of 1024 characters', utf8(`six${' '.repeat(1016)}==1.0\n`), [`six${' '.repeat(1016)}==1.0`]],
];

// Lines built to make a backtracking pattern, or a per-line rescan of the file, take minutes: each is refused (or read)
// at once, and the reader gets a bounded time for all of them so a slow one fails the test instead of hanging it.
const hostile: [string, Buffer, Expected][] = [
  ['blanks between a name and a stray character', utf8(`a${' '.repeat(1000)}!\n`), /^requirements\.txt line 1: "a {20,}.*": only plain requirements are supported/],
  ['blanks and tabs after versions', utf8(`a >= 1${' \t'.repeat(400)}!\n`), /^requirements\.txt line 1: .*only plain requirements are supported/],
  ['blanks inside extras', utf8(`a[${' '.repeat(1000)}!\n`), /^requirements\.txt line 1: .*only plain requirements are supported/],
  ['blanks inside parentheses', utf8(`a (${' '.repeat(1000)}!\n`), /^requirements\.txt line 1: .*only plain requirements are supported/],
  ['blanks before a comment sign that is not one', utf8(`a${' '.repeat(1000)}x#\n`), /^requirements\.txt line 1: .*only plain requirements are supported/],
  ['a 4 KiB line', utf8(`six\na${' '.repeat(4000)}!\n`), /^requirements\.txt line 2: is longer than 1024 characters/],
  ['a 12 KiB line', utf8(`a${' '.repeat(12_000)}!\n`), /^requirements\.txt line 1: is longer than 1024 characters/],
  ['short continuations joined into a long line', utf8(`a \\\n`.repeat(600) + '!\n'), /^requirements\.txt line 1: is longer than 1024 characters once its \\ continuations are joined/],
  ['two million lines', utf8('six\n'.repeat(2_000_000)), /^requirements\.txt line 10001: the file has more than 10000 lines/],
  ['ten thousand lines are read', utf8('six\n'.repeat(10_000)), Array<string>(10_000).fill('six')],
];

type Result = { lines?: string[]; refused?: string };
/** The reader's answers for `list`, or one error (the reader crashed or ran out of time) standing for all of them. */
function read(list: [string, Buffer, Expected][], timeout: number): Result[] | Error {
  const input = JSON.stringify(list.map(([, data]) => data.toString('base64')));
  try {
    return JSON.parse(execFileSync('python3', ['-I', '-B', '-c', READER, DIR], { input, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 })) as Result[];
  } catch (error) {
    return error as Error;
  }
}

let results: Result[] | Error = [];
let hostileResults: Result[] | Error = [];
test.before(() => {
  results = read(cases, 30_000);
  hostileResults = read(hostile, 20_000);
});

const check = (list: [string, Buffer, Expected][], answers: () => Result[] | Error, prefix: string) =>
  list.forEach(([title, , expected], index) => {
    test(`${prefix}${title}`, (t) => {
      const all = answers();
      if (all instanceof Error) return void t.fail(`the reader did not answer: ${all.message.slice(0, 200)}`);
      const result = all[index];
      if (Array.isArray(expected)) t.deepEqual(result, { lines: expected });
      else t.regex(result?.refused ?? `accepted: ${JSON.stringify(result?.lines)}`, expected);
    });
  });
check(cases, () => results, 'requirements.txt: ');
check(hostile, () => hostileResults, 'requirements.txt, hostile: ');
