/**
 * The left-sidebar panel: a launch form (experiment, config, main script), "Stop all", and one row
 * per simulation with its state badge, simulation time, owner and the actions its state allows.
 * Plain DOM, updated in place from the model; every action is one click.
 */

import { Widget } from '@lumino/widgets';

import { FINAL_STATES, IExperiment, NrpApi } from './api';
import { ISimulationRow, SimulationsModel } from './model';

/** What the panel asks of the Lab around it. */
export interface IPanelHost {
  showLogs(simulationID: number): Promise<void>;
  openControlPanel(simulationID: number): Promise<void>;
}

type Action = 'start' | 'pause' | 'resume' | 'stop';

/** The elements of one row that change with its simulation. */
interface IRowView {
  item: HTMLLIElement;
  badge: HTMLSpanElement;
  time: HTMLSpanElement;
  actions: HTMLDivElement;
  /** The state (and whether started) the buttons were built for. */
  shownFor: string;
}

const ACTION_TARGET: Record<Action, 'started' | 'paused' | 'stopped'> = {
  start: 'started',
  pause: 'paused',
  resume: 'started',
  stop: 'stopped'
};

/** The actions a row offers in each state (NRP's transitions; `completed` may only be stopped). */
function actionsFor(row: ISimulationRow): Action[] {
  switch (row.state) {
    case 'paused':
      return [row.started ? 'resume' : 'start', 'stop'];
    case 'started':
      return ['pause', 'stop'];
    case 'created':
    case 'completed':
      return ['stop'];
    default:
      return [];
  }
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function formatTime(seconds: number | null): string {
  return seconds === null ? '–' : `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
}

export class SimulationsPanel extends Widget {
  constructor(
    private readonly model: SimulationsModel,
    private readonly api: NrpApi,
    private readonly host: IPanelHost
  ) {
    super();
    this.id = 'nrp-simulations';
    this.addClass('nrp-sidebar');
    this.title.caption = 'NRP simulations';
    this.node.append(this.buildLaunchForm(), this.buildToolbar(), this.message, this.list);
    this.model.changed.connect(() => this.renderRows());
    void this.loadExperiments();
    this.renderRows();
  }

  /** Shows `text` above the list (an error when `isError`), until the next message. */
  say(text: string, isError = false): void {
    this.message.textContent = text;
    this.message.classList.toggle('nrp-sidebar-error', isError);
  }

  private buildLaunchForm(): HTMLElement {
    const form = element('form', 'nrp-sidebar-launch');
    form.append(element('h3', 'nrp-sidebar-heading', 'Launch an experiment'));
    const labelled = (text: string, select: HTMLSelectElement) => {
      const label = element('label', 'nrp-sidebar-field', text);
      label.append(select);
      return label;
    };
    this.experimentSelect.name = 'experiment';
    this.configSelect.name = 'config';
    this.scriptSelect.name = 'script';
    this.experimentSelect.onchange = () => this.fillChoices();
    const buttons = element('div', 'nrp-sidebar-buttons');
    const launch = element('button', 'jp-mod-styled jp-mod-accept nrp-sidebar-launch-button', 'Launch');
    launch.type = 'submit';
    const reload = element('button', 'jp-mod-styled nrp-sidebar-reload', 'Reload list');
    reload.type = 'button';
    reload.onclick = () => void this.loadExperiments();
    buttons.append(launch, reload);
    form.append(
      labelled('Experiment', this.experimentSelect),
      labelled('Config', this.configSelect),
      labelled('Main script', this.scriptSelect),
      buttons
    );
    form.onsubmit = event => {
      event.preventDefault();
      void this.launch(launch);
    };
    return form;
  }

  private buildToolbar(): HTMLElement {
    const bar = element('div', 'nrp-sidebar-toolbar');
    bar.append(element('h3', 'nrp-sidebar-heading', 'Simulations'), this.connection);
    const stopAll = element('button', 'jp-mod-styled jp-mod-warn nrp-sidebar-stop-all', 'Stop all');
    stopAll.onclick = () => void this.stopAll();
    bar.append(stopAll);
    return bar;
  }

  private async loadExperiments(): Promise<void> {
    try {
      this.experiments = await this.api.experiments();
    } catch (error) {
      this.say(`Could not list the experiments: ${(error as Error).message}`, true);
      return;
    }
    const previous = this.experimentSelect.value;
    this.experimentSelect.replaceChildren(
      ...this.experiments.map(experiment => {
        const option = new Option(experiment.id, experiment.id);
        option.title = experiment.description || experiment.name;
        return option;
      })
    );
    if (this.experiments.some(experiment => experiment.id === previous)) {
      this.experimentSelect.value = previous;
    }
    this.fillChoices();
  }

  private fillChoices(): void {
    const chosen = this.experiments.find(experiment => experiment.id === this.experimentSelect.value);
    this.configSelect.replaceChildren(...(chosen?.configs ?? []).map(name => new Option(name, name)));
    this.scriptSelect.replaceChildren(...(chosen?.scripts ?? []).map(name => new Option(name, name)));
  }

  private async launch(button: HTMLButtonElement): Promise<void> {
    const experiment = this.experimentSelect.value;
    if (!experiment) {
      this.say('No experiment to launch: the storage has none.', true);
      return;
    }
    button.disabled = true;
    this.say(`Launching ${experiment}…`);
    try {
      const record = await this.api.launch(experiment, this.configSelect.value, this.scriptSelect.value);
      this.say(`Simulation ${record.simulationID} of ${experiment} launched: ${record.state}`);
      await this.model.refresh();
    } catch (error) {
      this.say((error as Error).message, true);
    } finally {
      button.disabled = false;
    }
  }

  private async act(simulationID: number, action: Action): Promise<void> {
    try {
      const state = await this.api.setState(simulationID, ACTION_TARGET[action]);
      this.model.setState(simulationID, state);
      this.say(`Simulation ${simulationID}: ${state}`);
    } catch (error) {
      this.say((error as Error).message, true);
      await this.model.refresh();
    }
  }

  private async stopAll(): Promise<void> {
    const rows = this.model.activeRows;
    if (!rows.length) {
      this.say('No simulation to stop.');
      return;
    }
    this.say(`Stopping ${rows.length} simulation${rows.length > 1 ? 's' : ''}…`);
    const outcomes = await Promise.allSettled(rows.map(row => this.api.setState(row.simulationID, 'stopped')));
    const failures = outcomes.flatMap((outcome, index) =>
      outcome.status === 'rejected' ? [`${rows[index].simulationID}: ${outcome.reason.message}`] : []
    );
    await this.model.refresh();
    if (failures.length) {
      this.say(`Not stopped: ${failures.join('; ')}`, true);
    } else {
      this.say(`Stopped ${rows.length} simulation${rows.length > 1 ? 's' : ''}.`);
    }
  }

  /**
   * Updates the rows in place: a status message a second must not replace a button between the
   * press and the release of a click, so a row's buttons are rebuilt only when its state changes.
   */
  private renderRows(): void {
    const connected = this.model.connected;
    this.connection.textContent = connected ? 'live' : 'connecting…';
    this.connection.classList.toggle('nrp-sidebar-live', connected);
    const error = this.model.error;
    if (error) {
      this.say(error, true);
    } else if (this.message.textContent === this.shownModelError) {
      this.say('');
    }
    this.shownModelError = error;
    const rows = this.model.rows;
    const items = rows.map(row => {
      const view = this.rowViews.get(row.simulationID) ?? this.createRowView(row);
      this.rowViews.set(row.simulationID, view);
      this.updateRowView(view, row);
      return view.item;
    });
    const listed = new Set(rows.map(row => row.simulationID));
    for (const simulationID of [...this.rowViews.keys()]) {
      if (!listed.has(simulationID)) {
        this.rowViews.delete(simulationID);
      }
    }
    const wanted = items.length ? items : [this.empty];
    const current = Array.from(this.list.children);
    if (wanted.length !== current.length || wanted.some((item, index) => current[index] !== item)) {
      this.list.replaceChildren(...wanted);
    }
  }

  private createRowView(row: ISimulationRow): IRowView {
    const item = element('li', 'nrp-sidebar-row');
    item.dataset.simulationId = String(row.simulationID);
    const head = element('div', 'nrp-sidebar-row-head');
    const badge = element('span', 'nrp-sidebar-badge');
    head.append(
      element('span', 'nrp-sidebar-id', `#${row.simulationID}`),
      Object.assign(element('span', 'nrp-sidebar-experiment', row.experimentID), { title: row.experimentID }),
      badge
    );
    const facts = element('div', 'nrp-sidebar-facts');
    const time = element('span', 'nrp-sidebar-time');
    facts.append(time, element('span', 'nrp-sidebar-owner', row.owner));
    facts.title = `${row.experimentConfiguration}, ${row.mainScript}; launched ${row.creationDate}`;
    const actions = element('div', 'nrp-sidebar-actions');
    item.append(head, facts, actions);
    return { item, badge, time, actions, shownFor: '' };
  }

  private updateRowView(view: IRowView, row: ISimulationRow): void {
    view.item.dataset.state = row.state;
    view.item.classList.toggle('nrp-sidebar-ended', FINAL_STATES.has(row.state));
    view.badge.textContent = row.state;
    view.badge.className = `nrp-sidebar-badge nrp-sidebar-state-${row.state}`;
    view.time.textContent = `sim time ${formatTime(row.simulationTime)}`;
    const shownFor = `${row.state}/${row.started}`;
    if (view.shownFor !== shownFor) {
      view.shownFor = shownFor;
      view.actions.replaceChildren(...this.buttonsFor(row));
    }
  }

  private buttonsFor(row: ISimulationRow): HTMLButtonElement[] {
    const buttons = actionsFor(row).map(action => {
      const button = element('button', `jp-mod-styled nrp-sidebar-${action}`, action[0].toUpperCase() + action.slice(1));
      button.onclick = () => {
        button.disabled = true;
        void this.act(row.simulationID, action).finally(() => (button.disabled = false));
      };
      return button;
    });
    const logs = element('button', 'jp-mod-styled nrp-sidebar-logs', 'Logs');
    logs.onclick = () => void this.host.showLogs(row.simulationID).catch(error => this.say(error.message, true));
    buttons.push(logs);
    if (!FINAL_STATES.has(row.state)) {
      const panel = element('button', 'jp-mod-styled nrp-sidebar-control-panel', 'Control panel');
      panel.title = 'Open a console with the live control panel of this simulation';
      panel.onclick = () => void this.host.openControlPanel(row.simulationID);
      buttons.push(panel);
    }
    return buttons;
  }

  private experiments: IExperiment[] = [];
  private readonly experimentSelect = element('select', 'nrp-sidebar-experiment-select');
  private readonly configSelect = element('select', 'nrp-sidebar-config-select');
  private readonly scriptSelect = element('select', 'nrp-sidebar-script-select');
  private readonly message = element('div', 'nrp-sidebar-message');
  private readonly connection = element('span', 'nrp-sidebar-connection');
  private readonly list = element('ul', 'nrp-sidebar-list');
  private readonly empty = element('li', 'nrp-sidebar-empty', 'No simulations yet.');
  private readonly rowViews = new Map<number, IRowView>();
  private shownModelError: string | null = null;
}
