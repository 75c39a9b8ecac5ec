import { describe, expect, it } from 'vitest';
import {
  LINK_EVENT_RE,
  linkId,
  parseDataAccept,
  PDP_DEACT_RE,
  RXGET_URC_RE,
  parseCesq,
  parseCipack,
  parseCops,
  parseCsq,
  parseDigits,
  parseFirmware,
  parseIpv4,
  parseModel,
  parseRegistration,
  parseRxgetHeader,
} from '../../src/modem/parse.js';

describe('modem answer parsers', () => {
  it('converts +CSQ to dBm and bars', () => {
    expect(parseCsq('+CSQ: 19,0')).toEqual({ rssi: 19, dbm: -75, bars: 4 });
    expect(parseCsq('+CSQ: 0,0')).toEqual({ rssi: 0, dbm: -113, bars: 0 });
    expect(parseCsq('+CSQ: 31,99')).toEqual({ rssi: 31, dbm: -51, bars: 5 });
    expect(parseCsq('+CSQ: 99,99')).toEqual({ rssi: 99, dbm: undefined, bars: 0 });
    expect(parseCsq('+CSQ: 11,0')!.bars).toBe(2);
    expect(parseCsq('+CESQ: 1,2')).toBeUndefined();
  });

  it('reads RSRP/RSRQ from +CESQ and leaves unknown values out', () => {
    expect(parseCesq('+CESQ: 99,99,255,255,31,41')).toEqual({ rsrqDb: -4.5, rsrpDbm: -100 });
    expect(parseCesq('+CESQ: 99,99,255,255,255,255')).toEqual({});
  });

  it('accepts +CEREG, +CGREG (the 780EPV answer to AT+CEREG?) and +CREG', () => {
    expect(parseRegistration('+CEREG: 0,1')).toMatchObject({
      source: 'CEREG',
      registered: true,
      roaming: false,
      text: 'home',
    });
    expect(parseRegistration('+CGREG: 0,5')).toMatchObject({ source: 'CGREG', registered: true, roaming: true });
    expect(parseRegistration('+CREG: 2,2,"1A2B","0C3D4E",7')).toMatchObject({ registered: false, text: 'searching' });
    expect(parseRegistration('+CEREG: 0,3')!.text).toBe('denied');
    expect(parseRegistration('+CSQ: 1,2')).toBeUndefined();
  });

  it('parses operator, IP (zero padded), CIPACK and pull headers', () => {
    expect(parseCops('+COPS: 0,2,"46001",7')).toBe('46001');
    expect(parseCops('+COPS: 0')).toBeUndefined();
    expect(parseIpv4('010.083.172.111')).toBe('10.83.172.111');
    expect(parseIpv4('10.83.172.300')).toBeUndefined();
    expect(parseIpv4('OK')).toBeUndefined();
    expect(parseCipack('+CIPACK: 100,60,40')).toEqual({ sent: 100, acked: 60, unacked: 40 });
    expect(parseRxgetHeader('+CIPRXGET: 2,3,5,0')).toEqual({ link: 3, read: 5, left: 0 });
    expect(parseRxgetHeader('+CIPRXGET:2,0,1460,2000')).toEqual({ link: 0, read: 1460, left: 2000 });
  });

  it('matches link URCs with and without the space, and nothing else', () => {
    expect(LINK_EVENT_RE.exec('0, CONNECT OK')?.slice(1)).toEqual(['0', 'CONNECT OK']);
    expect(LINK_EVENT_RE.exec('5,CLOSED')?.slice(1)).toEqual(['5', 'CLOSED']);
    expect(LINK_EVENT_RE.exec('3, CLOSE OK')?.slice(1)).toEqual(['3', 'CLOSE OK']);
    // A garbled id is matched (so it is claimed and traced) but is no link of the module.
    expect(LINK_EVENT_RE.exec('12, CLOSED')?.slice(1)).toEqual(['12', 'CLOSED']);
    expect(linkId('12')).toBeUndefined();
    expect(linkId('7')).toBeUndefined();
    expect(linkId('5')).toBe(5);
    expect(linkId('0')).toBe(0);
    expect(parseDataAccept('DATA ACCEPT:0,1460')).toBe(1460);
    expect(parseDataAccept('DATA ACCEPT: 3, 12')).toBe(12);
    expect(parseDataAccept('DATA ACCEPT:12')).toBe(12);
    expect(parseDataAccept('0, SEND OK')).toBeUndefined();
    expect(LINK_EVENT_RE.test('0, CONNECT OKAY')).toBe(false);
    expect(RXGET_URC_RE.test('+CIPRXGET: 1,2')).toBe(true);
    expect(RXGET_URC_RE.test('+CIPRXGET:1,2,"1.2.3.4:53"')).toBe(true);
    expect(RXGET_URC_RE.test('+CIPRXGET: 2,2,5,0')).toBe(false);
    for (const l of ['+PDP: DEACT', '+PDP:DEACT', '+PDP DEACT']) expect(PDP_DEACT_RE.test(l)).toBe(true);
  });

  it('reads identity answers in their documented shapes', () => {
    expect(parseFirmware(['AirM2M_780E_V1171_LTE_AT'])).toBe('AirM2M_780E_V1171_LTE_AT');
    expect(parseFirmware(['+CGMR: "AirM2M_780E_V1120_LTE_AT"'])).toBe('AirM2M_780E_V1120_LTE_AT');
    expect(parseModel(['+CGMM: "Air780E"'])).toBe('Air780E');
    expect(parseDigits(['359759002514931'], 14, 17)).toBe('359759002514931');
    expect(parseDigits(['+ICCID: 89860117831003134201'], 18, 22)).toBe('89860117831003134201');
    expect(parseDigits(['+CGSN: "359759002514931"'], 14, 17)).toBe('359759002514931');
    expect(parseDigits(['ERROR'], 14, 17)).toBeUndefined();
  });
});
