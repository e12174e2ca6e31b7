import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { HttpBodyError, parseHttpBody, parseTimeParam, tagFromPath } from '../receiver/http-body.js';

describe('HTTP input bodies (fluentd in_http forms)', () => {
  it('takes a JSON object, a JSON array, ndjson, json= and msgpack= forms and a msgpack body', () => {
    assert.deepEqual(parseHttpBody('application/json', Buffer.from('{"a":1}')), [{ a: 1 }]);
    assert.deepEqual(parseHttpBody('application/json; charset=utf-8', Buffer.from('[{"a":1},{"b":2}]')), [{ a: 1 }, { b: 2 }]);
    assert.deepEqual(parseHttpBody('application/x-ndjson', Buffer.from('{"a":1}\n\n{"a":2}\n')), [{ a: 1 }, { a: 2 }]);
    assert.deepEqual(parseHttpBody('application/x-www-form-urlencoded', Buffer.from('json=' + encodeURIComponent('{"m":"hi there"}'))), [{ m: 'hi there' }]);
    assert.deepEqual(parseHttpBody('application/msgpack', Buffer.from(encode([{ k: 'v' }]))), [{ k: 'v' }]);
    const form = 'msgpack=' + encodeURIComponent(Buffer.from(encode({ x: 1 })).toString('latin1'));
    assert.deepEqual(parseHttpBody('application/x-www-form-urlencoded', Buffer.from(form)), [{ x: 1 }]);
  });

  it('refuses bad bodies with a reason', () => {
    assert.throws(() => parseHttpBody('application/json', Buffer.from('{"a":')), HttpBodyError);
    assert.throws(() => parseHttpBody('application/json', Buffer.from('[1,2]')), /record 0 is not an object/);
    assert.throws(() => parseHttpBody('application/json', Buffer.from('[]')), /empty array/);
    assert.throws(() => parseHttpBody('application/x-www-form-urlencoded', Buffer.from('foo=1')), /neither a json= nor a msgpack=/);
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
