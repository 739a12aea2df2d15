import type { Rng } from "./prng.js";

/** [Cyrillic spelling, Latin transliteration for the login]. */
type Name = readonly [string, string];

/** Russian customer names (seed 01 example: Александр Иванов, alex.ivanov@...). */
const MALE_FIRST: readonly Name[] = [
  ["Александр", "alexander"],
  ["Дмитрий", "dmitry"],
  ["Сергей", "sergey"],
  ["Андрей", "andrey"],
  ["Алексей", "alexey"],
  ["Михаил", "mikhail"],
  ["Иван", "ivan"],
  ["Николай", "nikolay"],
  ["Павел", "pavel"],
  ["Владимир", "vladimir"],
  ["Евгений", "evgeny"],
  ["Олег", "oleg"],
  ["Артём", "artem"],
  ["Максим", "maxim"],
  ["Юрий", "yury"],
];

const FEMALE_FIRST: readonly Name[] = [
  ["Елена", "elena"],
  ["Ольга", "olga"],
  ["Наталья", "natalya"],
  ["Анна", "anna"],
  ["Мария", "maria"],
  ["Татьяна", "tatyana"],
  ["Ирина", "irina"],
  ["Светлана", "svetlana"],
  ["Екатерина", "ekaterina"],
  ["Юлия", "yulia"],
  ["Анастасия", "anastasia"],
  ["Марина", "marina"],
];

/** Male surname form; the female form adds "а" (all of these end in -ов/-ев/-ин). */
const LAST: readonly Name[] = [
  ["Иванов", "ivanov"],
  ["Петров", "petrov"],
  ["Смирнов", "smirnov"],
  ["Кузнецов", "kuznetsov"],
  ["Попов", "popov"],
  ["Соколов", "sokolov"],
  ["Лебедев", "lebedev"],
  ["Козлов", "kozlov"],
  ["Новиков", "novikov"],
  ["Морозов", "morozov"],
  ["Волков", "volkov"],
  ["Соловьёв", "solovyov"],
  ["Васильев", "vasilyev"],
  ["Зайцев", "zaytsev"],
  ["Павлов", "pavlov"],
  ["Семёнов", "semyonov"],
  ["Голубев", "golubev"],
  ["Виноградов", "vinogradov"],
  ["Богданов", "bogdanov"],
  ["Фёдоров", "fyodorov"],
  ["Михайлов", "mikhaylov"],
  ["Беляев", "belyaev"],
  ["Тарасов", "tarasov"],
  ["Белов", "belov"],
  ["Комаров", "komarov"],
  ["Орлов", "orlov"],
  ["Киселёв", "kiselyov"],
  ["Макаров", "makarov"],
  ["Андреев", "andreev"],
  ["Ильин", "ilyin"],
];

const MAIL_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "rambler.ru"] as const;

export interface Person {
  firstName: string;
  lastName: string;
  /** Keycloak preferred_username; unique, so it also makes the e-mail unique. */
  login: string;
  email: string;
  phone: string;
}

/**
 * Draws a person; `takenLogins` makes logins unique across the run (a name clash gets the
 * user id appended, like a real directory would do).
 */
export function drawPerson(rng: Rng, userId: number, takenLogins: Set<string>): Person {
  const female = rng.chance(0.45);
  const [firstName, firstLatin] = rng.pick(female ? FEMALE_FIRST : MALE_FIRST);
  const [lastMale, lastLatin] = rng.pick(LAST);
  const lastName = female ? `${lastMale}а` : lastMale;
  const latinLast = female ? `${lastLatin}a` : lastLatin;
  let login = `${firstLatin}.${latinLast}`;
  if (takenLogins.has(login)) login = `${login}${userId}`;
  takenLogins.add(login);
  const phone = `+79${String(rng.int(0, 999_999_999)).padStart(9, "0")}`;
  return { firstName, lastName, login, email: `${login}@${rng.pick(MAIL_DOMAINS)}`, phone };
}
