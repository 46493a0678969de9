#!/usr/bin/env node
// Benchmark peer: a minimal OCPP 1.6J central system on ocpp-rpc with strict
// schema validation. It answers what the load generator sends and nothing more,
// so the figures measure the library (and SQLite, with --sqlite), not business logic.
// --lean keeps heartbeats in memory and writes them every 15 s in one transaction, as
// Voltline does; every other message is still committed in a transaction of its own.
//
//   node server.js [--host 127.0.0.1] [--port 9000] [--sqlite PATH [--lean]] [--backlog 4096]
'use strict';

const http = require('node:http');
const { RPCServer, createRPCError } = require('ocpp-rpc');

function parseArgs(argv) {
    const opts = { host: '127.0.0.1', port: 9000, sqlite: null, lean: false, backlog: 4096 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--host') opts.host = next();
        else if (a === '--port') opts.port = Number(next());
        else if (a === '--sqlite') opts.sqlite = next();
        else if (a === '--backlog') opts.backlog = Number(next());
        else if (a === '--lean') opts.lean = true;
        else if (a === '-h' || a === '--help') {
            console.log('usage: server.js [--host H] [--port P] [--sqlite PATH [--lean]] [--backlog N]');
            process.exit(0);
        } else throw new Error(`unknown argument ${a}`);
    }
    return opts;
}

// One SQLite transaction per OCPP message, WAL journal, synchronous=NORMAL:
// the durability a real central system would need before answering Accepted.
function openStore(path, lean) {
    const Database = require('better-sqlite3');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`
        CREATE TABLE IF NOT EXISTS charge_point (
            id TEXT PRIMARY KEY, vendor TEXT, model TEXT, serial_number TEXT,
            firmware_version TEXT, booted_at TEXT, last_heartbeat_at TEXT);
        CREATE TABLE IF NOT EXISTS connector_status (
            charge_point_id TEXT, connector_id INTEGER, status TEXT, error_code TEXT,
            info TEXT, timestamp TEXT, PRIMARY KEY (charge_point_id, connector_id));
        CREATE TABLE IF NOT EXISTS txn (
            id INTEGER PRIMARY KEY AUTOINCREMENT, charge_point_id TEXT, connector_id INTEGER,
            id_tag TEXT, meter_start INTEGER, started_at TEXT, meter_stop INTEGER,
            stopped_at TEXT, stop_reason TEXT);
        CREATE TABLE IF NOT EXISTS meter_value (
            id INTEGER PRIMARY KEY AUTOINCREMENT, charge_point_id TEXT, connector_id INTEGER,
            transaction_id INTEGER, timestamp TEXT, value TEXT, measurand TEXT, unit TEXT,
            phase TEXT, context TEXT, location TEXT);
    `);
    const st = {
        boot: db.prepare(`INSERT INTO charge_point (id, vendor, model, serial_number, firmware_version, booted_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET vendor=excluded.vendor, model=excluded.model,
              serial_number=excluded.serial_number, firmware_version=excluded.firmware_version,
              booted_at=excluded.booted_at`),
        heartbeat: db.prepare('UPDATE charge_point SET last_heartbeat_at = ? WHERE id = ?'),
        status: db.prepare(`INSERT INTO connector_status VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(charge_point_id, connector_id) DO UPDATE SET status=excluded.status,
              error_code=excluded.error_code, info=excluded.info, timestamp=excluded.timestamp`),
        start: db.prepare(`INSERT INTO txn (charge_point_id, connector_id, id_tag, meter_start, started_at)
            VALUES (?, ?, ?, ?, ?)`),
        stop: db.prepare('UPDATE txn SET meter_stop = ?, stopped_at = ?, stop_reason = ? WHERE id = ?'),
        meter: db.prepare(`INSERT INTO meter_value (charge_point_id, connector_id, transaction_id, timestamp,
            value, measurand, unit, phase, context, location) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    };
    // --lean: the last heartbeat of each charge point, written every 15 s.
    const heartbeats = new Map();
    const flushHeartbeats = db.transaction((entries) => {
        for (const [id, at] of entries) st.heartbeat.run(at, id);
    });
    const flush = () => {
        if (heartbeats.size === 0) return;
        const entries = [...heartbeats];
        heartbeats.clear();
        flushHeartbeats(entries);
    };
    const timer = lean ? setInterval(flush, 15000) : null;
    const heartbeatNow = db.transaction((id) => st.heartbeat.run(new Date().toISOString(), id));
    return {
        boot: db.transaction((id, p) => st.boot.run(id, p.chargePointVendor, p.chargePointModel,
            p.chargePointSerialNumber ?? null, p.firmwareVersion ?? null, new Date().toISOString())),
        heartbeat: lean ? (id) => { heartbeats.set(id, new Date().toISOString()); } : heartbeatNow,
        status: db.transaction((id, p) => st.status.run(id, p.connectorId, p.status, p.errorCode,
            p.info ?? null, p.timestamp ?? new Date().toISOString())),
        meterValues: db.transaction((id, p) => {
            for (const mv of p.meterValue) {
                for (const sv of mv.sampledValue) {
                    st.meter.run(id, p.connectorId, p.transactionId ?? null, mv.timestamp, sv.value,
                        sv.measurand ?? 'Energy.Active.Import.Register', sv.unit ?? 'Wh', sv.phase ?? null,
                        sv.context ?? 'Sample.Periodic', sv.location ?? 'Outlet');
                }
            }
        }),
        startTransaction: db.transaction((id, p) =>
            Number(st.start.run(id, p.connectorId, p.idTag, p.meterStart, p.timestamp).lastInsertRowid)),
        stopTransaction: db.transaction((p) =>
            st.stop.run(p.meterStop, p.timestamp, p.reason ?? 'Local', p.transactionId)),
        close: () => {
            if (timer) clearInterval(timer);
            flush();
            db.close();
        },
    };
}

function main() {
    const opts = parseArgs(process.argv.slice(2));
    if (opts.lean && !opts.sqlite) throw new Error('--lean needs --sqlite');
    const store = opts.sqlite ? openStore(opts.sqlite, opts.lean) : null;
    let nextTransactionId = 1;

    const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });

    server.auth((accept, reject, handshake) => {
        if (handshake.endpoint !== '/ocpp' && handshake.endpoint !== '/ocpp/') {
            reject(404, 'unknown endpoint');
            return;
        }
        accept();
    });

    server.on('client', (client) => {
        const id = client.identity;
        client.on('strictValidationFailure', (ev) => {
            console.error(`strict validation failure from ${id}: ${ev.error && ev.error.message}`);
        });
        client.handle('BootNotification', ({ params }) => {
            if (store) store.boot(id, params);
            return { status: 'Accepted', interval: 300, currentTime: new Date().toISOString() };
        });
        client.handle('Heartbeat', () => {
            if (store) store.heartbeat(id);
            return { currentTime: new Date().toISOString() };
        });
        client.handle('StatusNotification', ({ params }) => {
            if (store) store.status(id, params);
            return {};
        });
        client.handle('MeterValues', ({ params }) => {
            if (store) store.meterValues(id, params);
            return {};
        });
        client.handle('Authorize', () => ({ idTagInfo: { status: 'Accepted' } }));
        client.handle('StartTransaction', ({ params }) => {
            const transactionId = store ? store.startTransaction(id, params) : nextTransactionId++;
            return { transactionId, idTagInfo: { status: 'Accepted' } };
        });
        client.handle('StopTransaction', ({ params }) => {
            if (store) store.stopTransaction(params);
            return { idTagInfo: { status: 'Accepted' } };
        });
        client.handle(({ method }) => {
            throw createRPCError('NotImplemented', `${method} is not implemented`);
        });
    });

    // Our own HTTP server rather than server.listen(): the listen backlog must be
    // raised for the connection-storm scenario (Node's default is 511).
    const httpServer = http.createServer({ noDelay: true }, (req, res) => {
        res.statusCode = 404;
        res.end();
    });
    httpServer.on('upgrade', server.handleUpgrade);
    httpServer.listen({ port: opts.port, host: opts.host, backlog: opts.backlog }, () => {
        console.log(`ocpp-rpc peer listening on ws://${opts.host}:${opts.port}/ocpp/{id}` +
            (store ? ` (sqlite ${opts.sqlite}${opts.lean ? ', heartbeats in memory' : ''})` : ''));
    });

    const stop = () => {
        httpServer.close();
        server.close({ awaitPending: false, force: true }).finally(() => {
            if (store) store.close();
            process.exit(0);
        });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main();
