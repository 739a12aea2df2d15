import { allocate } from "./allocate.js";
import { DAY_MS, HOUR_MS, type HistoryWindow } from "./calendar.js";
import type { Device, Population } from "./population.js";
import { rngFor, type Rng } from "./prng.js";

export type TicketStatus = "open" | "in_progress" | "resolved" | "closed";

export interface Ticket {
  ticketId: number;
  userId: number;
  prostheticId: number | null;
  title: string;
  description: string;
  status: TicketStatus;
  createdMs: number;
  updatedMs: number;
  /** Set exactly for resolved and closed tickets. */
  resolvedMs: number | null;
}

/** Seed 01 examples first ("Протез не включается", "Проблемы с батареей", "Дёргается движение"). */
const DEVICE_TOPICS: readonly (readonly [string, string])[] = [
  ["Протез не включается", "После ночной зарядки протез не реагирует на кнопку питания."],
  ["Проблемы с батареей", "Заряда хватает на полдня, раньше хватало на весь день."],
  ["Дёргается движение", "При сгибании кисти заметны рывки, особенно утром."],
  ["Ошибка калибровки", "Автокалибровка завершается ошибкой, хват стал неточным."],
  ["Перегрев привода", "Привод заметно нагревается при длительной ходьбе."],
  ["Не устанавливается обновление прошивки", "Обновление прерывается на середине, протез перезагружается."],
  ["Слабый сигнал ЭМГ-датчиков", "Протез не всегда распознаёт команду на сжатие."],
];

const ACCOUNT_TOPICS: readonly (readonly [string, string])[] = [
  ["Вопрос по оплате подписки", "Списание прошло дважды за один месяц."],
  ["Смена тарифа", "Хочу перейти на другой тариф сопровождения."],
  ["Не приходит отчёт в приложении", "Раздел отчётов в приложении пустой."],
];

/** Status mix: most tickets are long closed; recent ones are still open or being worked on. */
const STATUS_SHARE: readonly (readonly [TicketStatus, number])[] = [
  ["open", 0.1],
  ["in_progress", 0.13],
  ["resolved", 0.17],
  ["closed", 0.6],
];

function statusesFor(rng: Rng, total: number): TicketStatus[] {
  const counts = allocate(
    total,
    STATUS_SHARE.map(([, share]) => share),
    STATUS_SHARE.map(() => total),
  );
  const statuses = STATUS_SHARE.flatMap(([status], i) => Array<TicketStatus>(counts[i] ?? 0).fill(status));
  return rng.shuffle(statuses);
}

interface Timing {
  createdMs: number;
  updatedMs: number;
  resolvedMs: number | null;
}

/** Times follow the status: open tickets are days old, closed ones anywhere in the customer's history. */
function timingFor(rng: Rng, status: TicketStatus, earliestMs: number, window: HistoryWindow): Timing {
  const lastMs = window.endMs;
  const ago = (minDays: number, maxDays: number) =>
    Math.round(Math.max(earliestMs, lastMs - rng.float(minDays, maxDays) * DAY_MS));
  const after = (fromMs: number, minH: number, maxH: number) =>
    Math.round(Math.min(lastMs, fromMs + rng.float(minH, maxH) * HOUR_MS));
  switch (status) {
    case "open": {
      const createdMs = ago(0.02, 14);
      return { createdMs, updatedMs: createdMs, resolvedMs: null };
    }
    case "in_progress": {
      const createdMs = ago(1, 40);
      return { createdMs, updatedMs: after(createdMs, 1, 72), resolvedMs: null };
    }
    case "resolved": {
      const createdMs = ago(0.5, 40);
      const resolvedMs = after(createdMs, 2, 240);
      return { createdMs, updatedMs: resolvedMs, resolvedMs };
    }
    case "closed": {
      const latestMs = Math.max(earliestMs, lastMs - 20 * DAY_MS);
      const createdMs = Math.round(rng.float(earliestMs, latestMs));
      const resolvedMs = after(createdMs, 2, 336);
      return { createdMs, updatedMs: after(resolvedMs, 24, 168), resolvedMs };
    }
  }
}

/** Exactly `total` tickets, spread over users by how much prosthesis time (and trouble) they have. */
export function buildTickets(
  seed: number,
  window: HistoryWindow,
  population: Population,
  total: number,
): Ticket[] {
  const devicesOf = new Map<number, Device[]>();
  for (const d of population.devices) devicesOf.set(d.userId, [...(devicesOf.get(d.userId) ?? []), d]);
  const exposure = population.users.map((u) =>
    (devicesOf.get(u.userId) ?? []).reduce(
      (sum, d) => sum + Math.max(1, d.endDay - d.firstDay) * d.reliability,
      0,
    ),
  );
  const perUser = allocate(
    total,
    exposure,
    exposure.map(() => total),
  );
  const statuses = statusesFor(rngFor(seed, "ticket-statuses"), total);
  const tickets: Ticket[] = [];
  population.users.forEach((user, i) => {
    const rng = rngFor(seed, "tickets", user.userId);
    const devices = devicesOf.get(user.userId) ?? [];
    const earliestMs = Math.min(...devices.map((d) => d.purchaseMs), window.endMs) + HOUR_MS;
    for (let n = 0; n < (perUser[i] ?? 0); n++) {
      const status = statuses[tickets.length] ?? "closed";
      const timing = timingFor(rng, status, Math.min(earliestMs, window.endMs), window);
      const owned = devices.filter((d) => d.purchaseMs <= timing.createdMs);
      const aboutDevice = owned.length > 0 && rng.chance(0.85);
      const [title, description] = rng.pick(aboutDevice ? DEVICE_TOPICS : ACCOUNT_TOPICS);
      tickets.push({
        ticketId: 0,
        userId: user.userId,
        prostheticId: aboutDevice ? rng.pick(owned).prostheticId : null,
        title,
        description,
        status,
        ...timing,
      });
    }
  });
  tickets
    .sort((a, b) => a.createdMs - b.createdMs || a.userId - b.userId)
    .forEach((t, i) => (t.ticketId = i + 1));
  return tickets;
}
