/**
 * Every simulation of the server, kept current from the /events WebSocket: its lifecycle messages
 * change a row's state, its status messages its times. A simulation the model has not seen yet
 * (launched from a notebook or a terminal) and every (re)connection refetch the list, so nothing
 * that happened while the socket was down is missed.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { FINAL_STATES, IEvent, ISimulationRecord, NrpApi, topicLeaf } from './api';

export interface ISimulationRow extends ISimulationRecord {
  /** NRP status `simulationTime` (s), once a status message came. */
  simulationTime: number | null;
  /** Whether it was ever started: a paused row then offers Resume rather than Start. */
  started: boolean;
}

/** Reconnection delays of the events socket: from FIRST_RETRY_MS, doubling, to at most MAX_RETRY_MS. */
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

export class SimulationsModel {
  constructor(readonly api: NrpApi) {}

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The rows, newest first. */
  get rows(): ISimulationRow[] {
    return [...this._rows.values()].sort((a, b) => b.simulationID - a.simulationID);
  }

  /** Simulations whose script runs (`started`). */
  get runningCount(): number {
    return this.rows.filter(row => row.state === 'started').length;
  }

  /** Simulations that are not stopped or failed (they hold a launch slot). */
  get activeRows(): ISimulationRow[] {
    return this.rows.filter(row => !FINAL_STATES.has(row.state));
  }

  /** Whether the events socket is open. */
  get connected(): boolean {
    return this._socket?.readyState === WebSocket.OPEN;
  }

  /** The last error of a refresh, for the panel to show; null when the last one worked. */
  get error(): string | null {
    return this._error;
  }

  start(): void {
    this._disposed = false;
    this.connect();
    void this.refresh();
  }

  dispose(): void {
    this._disposed = true;
    window.clearTimeout(this._retryTimer);
    this._socket?.close();
    this._socket = null;
  }

  async refresh(): Promise<void> {
    try {
      const records = await this.api.simulations();
      const next = new Map<number, ISimulationRow>();
      for (const record of records) {
        const known = this._rows.get(record.simulationID);
        next.set(record.simulationID, {
          ...record,
          simulationTime: known?.simulationTime ?? null,
          started: (known?.started ?? false) || record.state === 'started'
        });
      }
      this._rows = next;
      this._error = null;
    } catch (error) {
      this._error = String((error as Error).message ?? error);
    }
    this._changed.emit();
  }

  /** Applies a state the server answered with, before its lifecycle message arrives. */
  setState(simulationID: number, state: string): void {
    const row = this._rows.get(simulationID);
    if (row && row.state !== state) {
      row.state = state as ISimulationRow['state'];
      row.started ||= state === 'started';
      this._changed.emit();
    }
  }

  private connect(): void {
    if (this._disposed) {
      return;
    }
    const socket = this.api.openEvents();
    this._socket = socket;
    socket.onopen = () => {
      this._retryMs = FIRST_RETRY_MS;
      void this.refresh();
    };
    socket.onmessage = message => this.onEvent(JSON.parse(message.data) as IEvent);
    socket.onclose = () => {
      if (this._socket !== socket || this._disposed) {
        return;
      }
      this._socket = null;
      this._changed.emit();
      this._retryTimer = window.setTimeout(() => this.connect(), this._retryMs);
      this._retryMs = Math.min(this._retryMs * 2, MAX_RETRY_MS);
    };
  }

  private onEvent(event: IEvent): void {
    const topic = topicLeaf(event.topic);
    const row = this._rows.get(event.simulationID);
    if (!row) {
      if (topic === 'lifecycle' || topic === 'status') {
        void this.refresh();
      }
      return;
    }
    if (topic === 'lifecycle' && typeof event.payload?.target_state === 'string') {
      this.setState(row.simulationID, event.payload.target_state);
    } else if (topic === 'status' && typeof event.payload?.simulationTime === 'number') {
      row.simulationTime = event.payload.simulationTime;
      this._changed.emit();
    }
  }

  private _rows = new Map<number, ISimulationRow>();
  private _changed = new Signal<this, void>(this);
  private _socket: WebSocket | null = null;
  private _retryMs = FIRST_RETRY_MS;
  private _retryTimer = 0;
  private _disposed = false;
  private _error: string | null = null;
}
