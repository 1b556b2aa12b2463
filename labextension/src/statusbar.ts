/** The status-bar item: how many simulations run; a click opens the side panel. */

import { Widget } from '@lumino/widgets';

import { SimulationsModel } from './model';

export class RunningCount extends Widget {
  constructor(
    private readonly model: SimulationsModel,
    onClick: () => void
  ) {
    super();
    this.addClass('nrp-statusbar');
    this.node.title = 'NRP simulations: click to open the side panel';
    this.node.onclick = onClick;
    this.model.changed.connect(() => this.render());
    this.render();
  }

  private render(): void {
    const running = this.model.runningCount;
    this.node.textContent = `NRP: ${running} running`;
    this.node.dataset.running = String(running);
  }
}
