import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import {
  HTTP_MAX_DEPTH,
  HttpBodyError,
  nestingDepth,
  parseFormBytes,
  parseHttpBody,
  parseTimeParam,
  tagFromPath,
} from '../../../receiver/http-body.js';
import { FORWARD_MAX_DEPTH } from '../../../receiver/forward/forward-input.js';

describe('HTTP input bodies (fluentd in_http forms)', () => {
  it('takes a JSON object, a JSON array, ndjson, json= and msgpack= forms and a msgpack body', () => {
    assert.deepEqual(parseHttpBody('application/json', Buffer.from('{"a":1}')), [{ a: 1 }]);
    assert.deepEqual(parseHttpBody('application/json; charset=utf-8', Buffer.from('[{"a":1},{"b":2}]')), [
      { a: 1 },
      { b: 2 },
    ]);
    assert.deepEqual(parseHttpBody('application/x-ndjson', Buffer.from('{"a":1}\n\n{"a":2}\n')), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(
      parseHttpBody('application/x-www-form-urlencoded', Buffer.from('json=' + encodeURIComponent('{"m":"hi there"}'))),
      [{ m: 'hi there' }],
    );
    assert.deepEqual(parseHttpBody('application/msgpack', Buffer.from(encode([{ k: 'v' }]))), [{ k: 'v' }]);
  });

  it('msgpack= form fields are bytes: every byte 0x00-0xff percent-encoded (as curl --data-urlencode does) comes back exact', () => {
    const records = [
      { bin: Buffer.from([0, 1, 0x7f, 0x80, 0xfd, 0xff]), text: 'grüße', n: 300 },
      { m: 'x'.repeat(40) },
    ];
    const bytes = Buffer.from(encode(records));
    assert.ok(
      bytes.some((b) => b >= 0x80),
      'the body has bytes >= 0x80 (map/array headers, bin, UTF-8)',
    );
    // Percent-encode every byte, as a byte-oriented client does; '+' must stay a plus only when escaped.
    const form = Buffer.from(
      'msgpack=' + [...bytes].map((b) => '%' + b.toString(16).padStart(2, '0').toUpperCase()).join(''),
    );
    assert.deepEqual(parseHttpBody('application/x-www-form-urlencoded', form), records);
    assert.deepEqual(parseFormBytes(Buffer.from('a=1+2%2B3&b=%zz%4&a=second&flag')).get('a'), Buffer.from('1 2+3'));
    assert.deepEqual(parseFormBytes(Buffer.from('b=%zz%4')).get('b'), Buffer.from('%zz%4'), 'a stray % stays as it is');
    assert.deepEqual(parseFormBytes(Buffer.from('flag&x=')).get('flag'), Buffer.alloc(0));
  });

  it("refuses a record nested deeper than the Forward input's limit, naming it; takes one at the limit", () => {
    const nest = (levels: number): Record<string, unknown> => {
      let v: Record<string, unknown> = { leaf: 1 };
      for (let i = 1; i < levels; i++) v = { v };
      return v;
    };
    assert.equal(HTTP_MAX_DEPTH, FORWARD_MAX_DEPTH);
    assert.equal(nestingDepth(nest(5), 100), 5);
    assert.equal(
      parseHttpBody('application/json', Buffer.from(JSON.stringify(nest(HTTP_MAX_DEPTH)))).length,
      1,
      'a lone record: 64 levels',
    );
    assert.equal(
      parseHttpBody('application/json', Buffer.from(JSON.stringify([{ a: 1 }, nest(HTTP_MAX_DEPTH - 1)]))).length,
      2,
      'in an array: 63',
    );
    assert.throws(
      () => parseHttpBody('application/json', Buffer.from(JSON.stringify([{ a: 1 }, { b: 2 }, nest(100)]))),
      (err: Error) => err instanceof HttpBodyError && /record 2 is nested deeper than 64 levels/.test(err.message),
    );
    assert.throws(
      () => parseHttpBody('application/msgpack', Buffer.from(encode([nest(HTTP_MAX_DEPTH)]))),
      /record 0 is nested deeper/,
    );
    assert.throws(
      () => parseHttpBody('application/x-ndjson', Buffer.from('{"a":1}\n' + JSON.stringify(nest(65)))),
      /line 2: record 0 is nested deeper/,
    );
  });

  it('refuses bad bodies with a reason', () => {
    assert.throws(() => parseHttpBody('application/json', Buffer.from('{"a":')), HttpBodyError);
    assert.throws(() => parseHttpBody('application/json', Buffer.from('[1,2]')), /record 0 is not an object/);
    assert.throws(() => parseHttpBody('application/json', Buffer.from('[]')), /empty array/);
    assert.throws(
      () => parseHttpBody('application/x-www-form-urlencoded', Buffer.from('foo=1')),
      /neither a json= nor a msgpack=/,
    );
    assert.throws(() => parseHttpBody('application/msgpack', Buffer.from([0xc1])), /msgpack body does not decode/);
  });

  it('reads tags from paths and the time parameter', () => {
    assert.equal(tagFromPath('/app.access'), 'app.access');
    assert.equal(tagFromPath('/app/access'), 'app.access');
    assert.equal(tagFromPath('/'), null);
    assert.equal(tagFromPath('/bad tag'), null);
    assert.equal(parseTimeParam('1700000000.5'), '2023-11-14T22:13:20.500Z');
    assert.equal(parseTimeParam(null), null);
    assert.throws(() => parseTimeParam('yesterday'), /not epoch seconds/);
  });
});
