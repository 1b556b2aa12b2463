/**
 * The nrp_jupyter server extension's REST API (nrp_jupyter/server/openapi.json) and its /events
 * WebSocket, through Jupyter's own connection settings: the requests carry whatever credentials
 * JupyterLab itself uses (cookie and XSRF header, or its token), so this extension handles none.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** NRP's lifecycle states. */
export type SimulationState = 'created' | 'paused' | 'started' | 'completed' | 'stopped' | 'failed';

/** States after which nothing can change the simulation any more. */
export const FINAL_STATES: ReadonlySet<string> = new Set(['stopped', 'failed']);

/** NRP's Simulation JSON (GET /simulation). */
export interface ISimulationRecord {
  simulationID: number;
  state: SimulationState;
  experimentID: string;
  experimentConfiguration: string;
  mainScript: string;
  owner: string;
  creationDate: string;
}

/** GET /experiments: what a launch may name. The defaults come first in both lists. */
export interface IExperiment {
  id: string;
  name: string;
  description: string;
  configs: string[];
  scripts: string[];
}

/** GET /simulation/<id>/logs. */
export interface ILogs {
  simulationID: number;
  files: { name: string; content: string }[];
}

/**
 * What a message of /events is about: `status`, `runtime_error` or `lifecycle` for what the server
 * publishes on MQTT (whose full topic, `[<prefix>/]nrp_simulation/<id>/status`, the socket sends),
 * or `data/<datapack>`.
 */
export function topicLeaf(topic: string): string {
  const found = /(?:^|\/)nrp_simulation\/\d+\/(.+)$/.exec(topic);
  return found ? found[1] : topic;
}

/** One message of the /events WebSocket. */
export interface IEvent {
  simulationID: number;
  topic: string;
  payload: any;
}

/** A refusal of the server, with NRP's message (`{message, type, data}`) when it sent one. */
export class NrpRequestError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

export class NrpApi {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  simulations(): Promise<ISimulationRecord[]> {
    return this.request('GET', 'simulation');
  }

  experiments(): Promise<IExperiment[]> {
    return this.request('GET', 'experiments');
  }

  launch(experimentID: string, experimentConfiguration: string, mainScript: string): Promise<ISimulationRecord> {
    return this.request('POST', 'simulation', { experimentID, experimentConfiguration, mainScript });
  }

  async setState(simulationID: number, state: 'started' | 'paused' | 'stopped'): Promise<string> {
    const answer = await this.request('PUT', `simulation/${simulationID}/state`, { state });
    return answer.state;
  }

  logs(simulationID: number): Promise<ILogs> {
    return this.request('GET', `simulation/${simulationID}/logs`);
  }

  /** The /events WebSocket; cookie authentication as Lab's own sockets, its token only where Lab appends one. */
  openEvents(): WebSocket {
    let url = URLExt.join(this.settings.wsUrl, 'nrp', 'events');
    if (this.settings.appendToken && this.settings.token) {
      url += `?token=${encodeURIComponent(this.settings.token)}`;
    }
    return new this.settings.WebSocket(url);
  }

  private async request(method: string, path: string, body?: unknown): Promise<any> {
    const url = URLExt.join(this.settings.baseUrl, 'nrp', path);
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new NrpRequestError(`The server did not answer ${method} ${path}: ${error}`, 0);
    }
    const text = await response.text();
    let value: any = null;
    try {
      value = text ? JSON.parse(text) : null;
    } catch {
      value = null;
    }
    if (!response.ok) {
      const said = value && typeof value.message === 'string' ? value.message : response.statusText;
      throw new NrpRequestError(`${method} ${path}: ${said} (HTTP ${response.status})`, response.status);
    }
    return value;
  }
}
